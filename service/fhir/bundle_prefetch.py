"""A patient's Bundle as the prefetch an EHR would send: each resource under the key whose
template would have fetched it (`ms-backpain-cds evaluate` with a Bundle or a sample).

The templates are run against the Bundle as a FHIR server runs them (`service.demo.store`, the
demo FHIR server's search: resource type, `patient=`, token lists on `code` and `status`), so an
eGFR Observation goes under `egfr`, a pain score under `painScores`, an active MedicationRequest
under `medicationRequests`. Medication resources ride along with the MedicationRequests, as
`_include=MedicationRequest:medication` would bring them; anything else no template asks for
(another Observation, a stopped MedicationRequest, a Procedure) is left out, and counted, since
no hook call would carry it either.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from service.demo.store import DemoFhirStore
from service.discovery import fill_template

Resource = dict[str, Any]


@dataclass
class FiledPrefetch:
    prefetch: dict[str, Any]
    left_out: Counter[str] = field(default_factory=Counter)  # resource type -> how many

    def describe_left_out(self) -> str:
        """'2 Observation, 1 Procedure', for the command's note."""
        return ", ".join(f"{n} {kind}" for kind, n in sorted(self.left_out.items()))


def file_resources(
    resources: list[Resource], templates: dict[str, str], patient_id: str
) -> FiledPrefetch:
    """Each template filled for `patient_id` and run against `resources`: a read gives the
    resource or null, a search a searchset Bundle of every match (all pages)."""
    # The store indexes by id: each resource is searched as a copy with an id of its own, so
    # that resources without one, or sharing one, are filed like the others.
    copies = {f"r{n}": {**r, "id": f"r{n}"} for n, r in enumerate(resources)}
    originals = {key: resources[n] for n, key in enumerate(copies)}
    store = DemoFhirStore({patient_id: copies.values()})
    filed: set[int] = set()
    prefetch: dict[str, Any] = {}
    for key, template in templates.items():
        query = fill_template(template, {"patientId": patient_id}) or ""
        path, _, params = query.partition("?")
        kind = path.split("/", 1)[0]
        if not params:  # a read: the patient, by the id the context names
            found = [r for r in resources if r.get("resourceType") == kind][:1]
            prefetch[key] = found[0] if found else None
        else:
            matches = store.search(kind, parse_qsl(params))
            found = [originals[m["id"]] for m in matches]
            prefetch[key] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in found],
            }
        filed.update(id(r) for r in found)
    medications = next(
        (k for k, t in templates.items() if t.startswith("MedicationRequest?")), None
    )
    result = FiledPrefetch(prefetch)
    for resource in resources:
        if id(resource) in filed:
            continue
        if resource.get("resourceType") == "Medication" and medications is not None:
            prefetch[medications]["entry"].append({"resource": resource})
        else:
            result.left_out[str(resource.get("resourceType"))] += 1
    return result
