"""Fitting a flow: the config and training loop (flow matching, FFJORD), batches, checkpoints and run files,
devices, Ctrl-C, progress events, the fit's preview.
"""
