"""Flow engine: approval chains, automations, jobs and the worker.

Arrives with issue 3. The records service already emits the events this
engine will subscribe to (see ``trellis.runtime.events``).
"""
