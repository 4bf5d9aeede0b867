from importlib import metadata

from setuptools import find_packages, setup


def mmcv_requirement():
    # A user who already has full mmcv (with compiled ops) keeps it: installing
    # mmcv-lite beside it would overwrite the same `mmcv` package directory.
    try:
        metadata.distribution('mmcv')
        return 'mmcv>=2.0.0rc4,<2.2.0'
    except metadata.PackageNotFoundError:
        # pure-Python wheel: everything TSM needs, no compiler
        return 'mmcv-lite>=2.0.0rc4,<2.2.0'


setup(
    name='tsm_plugin',
    version='0.1.0',
    description='Temporal Shift Module (TSM) for MMAction2, as a plugin',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    # Python 3.11 is the one version tested (make, CI); the same line is in the
    # Makefile and README.
    python_requires='>=3.11,<3.12',
    packages=find_packages(include=['tsm_plugin', 'tsm_plugin.*']),
    install_requires=[
        'torch>=1.13',
        'mmengine>=0.10,<1.0',
        mmcv_requirement(),
        'mmaction2==1.2.0',
        'decord>=0.6.0',
        # imported by mmaction/utils/dependency.py but not declared by mmaction2 1.2.0
        'importlib_metadata',
        # MMAction2's stock tools resolve `_base_ = 'mmaction::...'` through
        # pkg_resources before `custom_imports` can import this plugin's fix.
        'setuptools<81',
    ],
    extras_require={
        # pytest-xdist: `make test` runs the core tests on 2 workers
        'tests': ['pytest', 'pytest-xdist>=3.6'],
        'demo': ['matplotlib'],
        # ONNX export check and parity tests
        # (python -m tsm_plugin.deploy.export)
        'export': ['onnx>=1.16', 'onnxruntime>=1.18'],
        # TSMBackbone / TAdaBackbone over timm's, torchvision's and
        # mmpretrain's networks, MobileOneTSM (mmpretrain). torchvision needs
        # the torch release it was built for (here: torch==2.14.1 with
        # torchvision==0.29.1; install that pair first, see the README).
        'zoo': ['mmpretrain==1.2.0', 'timm>=1.0,<2', 'torchvision>=0.15'],
    },
)
