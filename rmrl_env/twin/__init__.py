"""The digital twin of the real cell: the real drivers against emulated devices.

:mod:`rmrl_env.twin.xarm_emulator` is an xArm controller emulator that the unmodified
``xarm.wrapper.XArmAPI`` connects to on loopback (command port 502, report port 30002).
"""
