"""The real cell's command-line tools, found by ``rmrl`` through the ``rmrl.commands`` entry points.

Entry points sit above the library's layers: they may import any of them (the bring-up's
rehearsal starts the twin), and nothing below imports them.

- :mod:`.calibrate`: ``rmrl calibrate`` (boards, intrinsics, extrinsics, targets), with
  :mod:`.hand_eye`, its ``hand-eye`` subcommand;
- :mod:`.bringup`: ``rmrl bringup``, the staged bring-up (``--twin`` rehearses it on the twin);
- :mod:`.common`: the options and helpers they share.
"""
