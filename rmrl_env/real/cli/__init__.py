"""The real cell's command-line tools, found by ``rmrl`` through the ``rmrl.commands`` entry points.

- :mod:`.calibrate`: ``rmrl calibrate`` (boards, intrinsics, extrinsics, targets), with
  :mod:`.hand_eye`, its ``hand-eye`` subcommand;
- :mod:`.common`: the options and helpers they share.
"""
