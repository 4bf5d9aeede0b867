# TSM MobileOne-S4, re-parameterised (deploy=True: one conv per block, shifts
# in front of the blocks), for testing and inference with a converted
# checkpoint. Needs the zoo extra: pip install -e '.[zoo]' (mmpretrain).
# Convert a checkpoint of the training config (same outputs, in eval mode) with
# MMAction2's tools/convert/reparameterize_model.py (model.backbone.switch_to_deploy()),
# run after `import tsm_plugin` (the tool imports mmaction.apis first, which
# fails on the mmaction2 1.2.0 wheel's missing DRN module without the plugin):
#   python -c "import runpy, sys, tsm_plugin; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')" \
#     "$(python -c 'import mmaction, os; print(os.path.dirname(mmaction.__file__))')/.mim/tools/convert/reparameterize_model.py" \
#     configs/tsm/tsm_imagenet-pretrained-mobileone-s4_8xb16-1x1x16-50e_kinetics400-rgb.py CKPT DEPLOY.pth
_base_ = ['./tsm_imagenet-pretrained-mobileone-s4_8xb16-1x1x16-50e_kinetics400-rgb.py']  # noqa: E501

model = dict(backbone=dict(deploy=True))
