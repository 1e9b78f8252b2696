"""The scenario models by family; import them from :mod:`hyperplan.scenario.schema`.

Lowest first (a module imports only those above it in this list): ``base`` (the base
:class:`~hyperplan.scenario.models.base.Model`, dates, bounded numbers, ``about``), ``series``,
``horizon``, ``providers``, ``offers``, ``commitments``, ``workloads``, ``policies``, ``sites``
(owned sites and managed platforms), ``scenario`` (the root model).
"""

#: the family modules, lowest first: the order the language declares its models in
FAMILIES = (
    "base",
    "series",
    "horizon",
    "providers",
    "offers",
    "commitments",
    "workloads",
    "policies",
    "sites",
    "scenario",
)
