"""Tools around the plugin, not parts of a model: command lines a user runs
before training (``python -m tsm_plugin.tools.check_data CONFIG``: every
broken video of a config's data; ``python -m tsm_plugin.tools.placement
CONFIG``: where the backbone puts its temporal modules) and the activation
memory count the tests and benchmarks measure with (``saved_memory``).

Nothing of the plugin imports this folder; it imports the rest.
"""
