"""A local emulator of the Google APIs thothctl uses, served over gRPC with the official types.

See ``thothctl.emulator.server`` for the core (state store, call log, fault injector, dispatch)
and one module or package per emulated service. What is emulated, the layout, how to add an RPC
and where the emulator deviates from Google: docs/emulator.md.

The emulator stands alone: it imports nothing from thothctl's CLI or library.
"""
