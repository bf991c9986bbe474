"""A local emulator of the Google APIs thothctl uses, served over gRPC with the official types.

See ``thothctl.emulator.server`` for the core (state store, call log, fault injector, dispatch)
and one module per emulated service. Architecture notes: docs in the README's "Emulator" section.
"""
