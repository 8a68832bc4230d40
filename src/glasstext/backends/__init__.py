"""Compute backends: model resolution, encoders, causal LMs and caches.

Nothing here knows about a particular method; every method asks these modules
for the models it needs, so offline resolution, caching, precision and threads
are handled once.
"""
