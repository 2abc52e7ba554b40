"""Files copied into packages made by ``alphaalgo export`` (see :mod:`alphaalgo.export`).

``_device.py`` is also used by :mod:`alphaalgo.bench`, so a measurement and an
exported package name the same device the same way.
"""
