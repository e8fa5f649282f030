"""The real cell: xArm 6 + BIO gripper + overhead RealSense D435 behind the driver protocols.

Modules (the hardware SDKs are imported only when a device is opened):

* :mod:`~rmrl_env.real.config`: the cell's TOML config, validated on load.
* :mod:`~rmrl_env.real.safety`: workspace box, speed limits, controller code table, stop on Ctrl-C.
* :mod:`~rmrl_env.real.xarm_arm`, :mod:`~rmrl_env.real.bio_gripper`, :mod:`~rmrl_env.real.realsense`: drivers.
* :mod:`~rmrl_env.real.stager`: autonomous reset.
* :mod:`~rmrl_env.real.backend`: connects the devices into a :class:`~rmrl_env.backend.Backend`.
"""
