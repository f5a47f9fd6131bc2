"""Loading `mappings/data/` into a `Terminology`, once, with every file validated.

Every CSV file starts with a `# source: ...; version: YYYY-MM-DD` line. Four files have fixed roles
(`concepts.csv`, `systems.csv`, `drug_classes.csv`, `rxnorm_products.csv`); every other `*.csv` is
a value set: `concept,system,code,match,display,confirmed,source`. A problem in any file raises
`DataError` naming the file and row, so a bad edit stops start-up rather than mis-classifying.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from mappings import concepts as rule_concepts
from mappings.datafile import require, reviewed, rows, source_line
from mappings.errors import DataError
from mappings.knowledge import load_knowledge
from mappings.terminology import (
    CodeEntry,
    Concept,
    ConceptContext,
    Source,
    Terminology,
    normalise_code,
)
from mappings.text import NameFinder, PhraseError, TextMatcher, compile_phrase, split_phrases

DATA_DIR = Path(__file__).parent / "data"
DATA_DIR_ENV = "MAPPINGS_DATA_DIR"  # overrides DATA_DIR (tests, local deployments)
KNOWLEDGE_DIR = "medication_safety"  # the safety tables, beside the value sets (mappings.knowledge)

CATEGORIES = frozenset(
    {
        "scope",
        "pain_component",
        "hard_red_flag",
        "risk_factor",
        "ms_common",
        "safety",
        "observation",
        "order_kind",
        "finding",
    }
)
VALUE_SET_COLUMNS = ("concept", "system", "code", "match", "display", "confirmed", "source")
PRODUCT_TTYS = frozenset({"IN", "PIN", "SCDC", "SCD", "SBD", "BN", "GPCK", "BPCK", "product"})
_CONCEPT_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_SOURCE_IDS = re.compile(r"^S[1-9](?:\s*[,+ ]\s*S[1-9])*$")


def _source(path: Path) -> Source:
    return Source(path.name, *source_line(path))


def _load_systems(term: Terminology, path: Path) -> None:
    require(path, ("name", "url", "aliases"))
    for number, row in rows(path):
        name, url = row["name"], row["url"].rstrip("/")
        if not name or not url:
            raise DataError(path.name, number, "name and url are required")
        if name in term.system_names:
            raise DataError(path.name, number, f"system {name!r} defined twice")
        term.system_names[name] = url
        for alias in (name, url, *row["aliases"].split()):
            term.systems[alias.rstrip("/").lower()] = url


def _load_concepts(term: Terminology, path: Path) -> dict[str, tuple[list[str], list[str]]]:
    require(path, ("concept", "category", "label", "implies", "text", "unless"))
    phrases: dict[str, tuple[list[str], list[str]]] = {}
    for number, row in rows(path):
        cid = row["concept"]
        if not _CONCEPT_ID.match(cid):
            raise DataError(path.name, number, f"bad concept id {cid!r}")
        if cid in term.concepts:
            raise DataError(path.name, number, f"concept {cid!r} defined twice")
        if row["category"] not in CATEGORIES:
            raise DataError(path.name, number, f"unknown category {row['category']!r}")
        if not row["label"]:
            raise DataError(path.name, number, "label is required")
        found, unless = split_phrases(row["text"]), split_phrases(row["unless"])
        for phrase in (*found, *unless):
            try:
                re.compile(compile_phrase(phrase))
            except (PhraseError, re.error) as exc:
                raise DataError(path.name, number, f"bad text phrase {phrase!r}: {exc}") from exc
        term.concepts[cid] = Concept(
            cid, row["category"], row["label"], tuple(row["implies"].split())
        )
        phrases[cid] = (found, unless)
        term.sources.setdefault(path.name, _source(path))
    for cid, concept in term.concepts.items():
        for implied in concept.implies:
            if implied not in term.concepts:
                raise DataError(path.name, None, f"{cid} implies undefined concept {implied!r}")
    for cid in term.concepts:
        term.closure[cid] = _closure(term, cid)
    required = (
        rule_concepts.MS,
        rule_concepts.BACK_PAIN,
        rule_concepts.NEUROPATHIC,
        rule_concepts.SPASTICITY,
        rule_concepts.MUSCULOSKELETAL,
        *rule_concepts.HARD_RED_FLAGS,
        *rule_concepts.RISK_FACTORS,
        *rule_concepts.MS_COMMON_FINDINGS,
        *rule_concepts.SAFETY_FINDINGS,
        *rule_concepts.STATE_CONCEPTS,
        *rule_concepts.ORDER_KINDS,
    )
    for cid in required:
        if cid not in term.concepts:
            raise DataError(
                path.name, None, f"concept {cid!r} (mappings/concepts.py) is not defined"
            )
    return phrases


def _closure(term: Terminology, cid: str) -> tuple[str, ...]:
    seen: list[str] = []
    stack = [cid]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.append(current)
        stack.extend(term.concepts[current].implies)
    return tuple(seen)


def _load_value_set(term: Terminology, path: Path) -> None:
    require(path, VALUE_SET_COLUMNS)
    name = path.name
    term.sources[name] = _source(path)
    for number, row in rows(path):
        for column in VALUE_SET_COLUMNS:
            if not row[column]:
                raise DataError(name, number, f"{column} is required")
        if row["concept"] not in term.concepts:
            raise DataError(name, number, f"concept {row['concept']!r} is not in concepts.csv")
        url = term.system_names.get(row["system"]) or term.system_url(row["system"])
        if url is None:
            raise DataError(name, number, f"unknown system {row['system']!r} (see systems.csv)")
        if row["match"] not in ("exact", "prefix"):
            raise DataError(name, number, f"match must be exact or prefix, not {row['match']!r}")
        if any(ch.isspace() for ch in row["code"]):
            raise DataError(name, number, f"code {row['code']!r} contains spaces")
        if not _SOURCE_IDS.match(row["source"]):
            raise DataError(name, number, f"source must be S1..S9, not {row['source']!r}")
        entry = CodeEntry(
            concept=row["concept"],
            system=url,
            code=row["code"],
            match=row["match"],
            display=row["display"],
            confirmed=row["confirmed"],
            source=row["source"],
            file=name,
            row=number,
        )
        norm = normalise_code(entry.code)
        # Kept unless the code is there already (then that row is named in the error).
        if entry.match == "exact":
            previous = term.exact.setdefault((url, norm), entry)
        else:
            previous = term.prefix.setdefault(url, {}).setdefault(norm, entry)
        if previous is not entry:
            what = "conflicts with" if previous.concept != entry.concept else "duplicates"
            raise DataError(
                name,
                number,
                f"{row['system']} {entry.code} ({entry.match}) {what} "
                f"{previous.file} row {previous.row} ({previous.concept})",
            )
        term.entries.append(entry)


def _load_products(term: Terminology, path: Path) -> None:
    columns = ("rxcui", "tty", "name", "ingredient_rxcui", "ingredient", "source", "dose_form")
    require(path, columns)
    term.sources[path.name] = _source(path)
    ingredients: dict[str, list[str]] = {}
    for number, row in rows(path):
        rxcui, ingredient = row["rxcui"], row["ingredient"].lower()
        if not rxcui.isdigit():
            raise DataError(path.name, number, f"rxcui {rxcui!r} is not a number")
        if row["ingredient_rxcui"] and not row["ingredient_rxcui"].isdigit():
            raise DataError(path.name, number, "ingredient_rxcui must be a number (or empty)")
        if row["tty"] not in PRODUCT_TTYS:
            raise DataError(path.name, number, f"unknown tty {row['tty']!r}")
        if not ingredient or not row["name"]:
            raise DataError(path.name, number, "name and ingredient are required")
        found = ingredients.setdefault(rxcui, [])
        if ingredient not in found:
            found.append(ingredient)
        if row["tty"] != "product" or rxcui not in term.product_names:
            term.product_names[rxcui] = row["name"]
            term.product_tty[rxcui] = row["tty"]
        if row["dose_form"]:
            term.product_dose_forms[rxcui] = row["dose_form"]
    term.product_ingredients = {k: tuple(v) for k, v in ingredients.items()}


def _load_knowledge(term: Terminology, directory: Path) -> None:
    """The medication-safety tables, and each product's route (a brand's when all its products
    are local: Flector, Solaraze)."""
    concepts = set(term.concepts)
    ingredients = set(term.ingredient_classes)
    classes = set(rule_concepts.DRUG_CLASSES)
    term.knowledge = knowledge = load_knowledge(directory, ingredients, classes, concepts)
    knowledge.classes_of = term.ingredient_classes
    known = set(knowledge.dose_form_names)
    for rxcui, form in term.product_dose_forms.items():
        if form not in known:
            raise DataError(
                "rxnorm_products.csv", None, f"{rxcui}: dose form {form!r} not in routes.csv"
            )
        route = knowledge.route_of_form(form, term.product_ingredients[rxcui])
        if route is not None:
            term.product_routes[rxcui] = route
    brands = {term.product_names[r]: r for r, tty in term.product_tty.items() if tty == "BN"}
    by_brand: dict[str, set[str]] = {}
    for rxcui, route in term.product_routes.items():
        name = term.product_names[rxcui]
        if name.endswith("]") and "[" in name:
            brand = name[name.rindex("[") + 1 : -1]
            if brand in brands:
                by_brand.setdefault(brands[brand], set()).add(route)
    for rxcui, routes in by_brand.items():
        # Only a brand that is local in every product is read as local (Flector, Solaraze); an
        # intrathecal-only brand today may have had oral products (Lioresal): words decide it.
        if routes == {"local"}:
            term.product_routes[rxcui] = "local"


def _load_drug_classes(term: Terminology, path: Path) -> dict[str, list[str]]:
    require(path, ("ingredient", "classes", "synonyms"))
    term.sources[path.name] = _source(path)
    known = set(rule_concepts.DRUG_CLASSES)
    in_products = {i for ings in term.product_ingredients.values() for i in ings}
    synonyms: dict[str, list[str]] = {}
    for number, row in rows(path):
        ingredient = row["ingredient"].lower()
        classes = row["classes"].split()
        if not ingredient or not classes:
            raise DataError(path.name, number, "ingredient and classes are required")
        if ingredient in term.ingredient_classes:
            raise DataError(path.name, number, f"ingredient {ingredient!r} listed twice")
        unknown = [c for c in classes if c not in known]
        if unknown:
            raise DataError(path.name, number, f"unknown drug class(es) {unknown} (concepts.py)")
        if ingredient not in in_products:
            raise DataError(path.name, number, f"{ingredient!r} is not in rxnorm_products.csv")
        term.ingredient_classes[ingredient] = frozenset(classes)
        synonyms[ingredient] = split_phrases(row["synonyms"])
    return synonyms


def _index_drug_names(term: Terminology, synonyms: dict[str, list[str]]) -> None:
    """Ingredient, brand (BN), precise-ingredient and synonym names -> ingredients."""
    names: dict[str, set[str]] = {}
    for ingredient in term.ingredient_classes:
        names.setdefault(ingredient, set()).add(ingredient)
        for synonym in synonyms.get(ingredient, ()):
            names.setdefault(synonym.lower(), set()).add(ingredient)
    for rxcui, tty in term.product_tty.items():
        if tty in ("BN", "PIN", "IN"):
            for ingredient in term.product_ingredients[rxcui]:
                names.setdefault(term.product_names[rxcui].lower(), set()).add(ingredient)
    # A brand that names another drug ("Tylenol with Codeine") counts for both.
    for name, found in names.items():
        words = name.split()
        for size in range(1, len(words)):
            for start in range(len(words) - size + 1):
                part = " ".join(words[start : start + size])
                if part in names and part != name:
                    found.update(names[part])
    term.drug_name_ingredients = {k: tuple(sorted(v)) for k, v in names.items()}
    term.drug_names = NameFinder(names)
    _complete_combinations(term)


def _complete_combinations(term: Terminology) -> None:
    """Fill ingredients missing from partial extracts using the product's own name.

    The eCQM rows cover only some ingredients of a combination (e.g. the Ultracet SBD is listed
    under tramadol alone), but RxNorm names every ingredient: "acetaminophen 325 MG / tramadol ...".
    """
    assert term.drug_names is not None
    for rxcui, name in term.product_names.items():
        if term.product_tty.get(rxcui) in ("BN", "IN", "PIN") or "/" not in name:
            continue
        found = list(term.product_ingredients[rxcui])
        for hit in term.drug_names.finditer(name):
            for ingredient in term.drug_name_ingredients.get(hit.group(0).lower(), ()):
                if ingredient not in found:
                    found.append(ingredient)
        term.product_ingredients[rxcui] = tuple(found)


_FIXED = ("concepts.csv", "systems.csv", "drug_classes.csv", "rxnorm_products.csv", "context.csv")
CONTEXT_COLUMNS = (
    "concept",
    "statuses",
    "window_days",
    "new_within_days",
    "encounter",
    "text_always",
    "on_relapse",
    "source",
    "reviewed",
)
CLINICAL_STATUSES = frozenset(
    {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
)


def _days(path: Path, number: int, value: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) <= 0:
        raise DataError(path.name, number, f"{value!r} is not a number of days")
    return int(value)


def _load_context(
    term: Terminology, path: Path, phrases: dict[str, tuple[list[str], list[str]]]
) -> None:
    """How each concept is read beyond its code: statuses, recency, 7th character, words."""
    require(path, CONTEXT_COLUMNS)
    term.sources[path.name] = _source(path)
    always: dict[str, tuple[list[str], list[str]]] = {}
    for number, row in rows(path):
        cid = row["concept"]
        if cid not in term.concepts:
            raise DataError(path.name, number, f"concept {cid!r} is not in concepts.csv")
        statuses = frozenset(row["statuses"].split()) or None
        if statuses is not None and not statuses <= CLINICAL_STATUSES:
            raise DataError(path.name, number, f"unknown status in {row['statuses']!r}")
        if row["encounter"] not in ("", "initial"):
            raise DataError(path.name, number, "encounter must be empty or initial")
        if row["text_always"] not in ("", "yes"):
            raise DataError(path.name, number, "text_always must be empty or yes")
        relapse = row["on_relapse"] or None
        if relapse is not None and relapse not in term.concepts:
            raise DataError(path.name, number, f"concept {relapse!r} is not in concepts.csv")
        reviewed(path.name, number, row)
        term.context[cid] = ConceptContext(
            statuses,
            _days(path, number, row["window_days"]),
            _days(path, number, row["new_within_days"]),
            row["encounter"] == "initial",
            row["text_always"] == "yes",
            relapse,
        )
        if row["text_always"] == "yes":
            always[cid] = phrases.get(cid, ([], []))
    term.text_always = TextMatcher(always) if always else None


def build_terminology(data_dir: Path) -> Terminology:
    """Read and validate every file in `data_dir` (no caching; see `load_terminology`)."""
    term = Terminology(data_dir=data_dir)
    if not data_dir.is_dir():
        raise DataError(str(data_dir), None, "data directory not found")
    for fixed in _FIXED:
        if not (data_dir / fixed).is_file():
            raise DataError(fixed, None, f"missing from {data_dir}")
    _load_systems(term, data_dir / "systems.csv")
    term.sources["systems.csv"] = _source(data_dir / "systems.csv")
    phrases = _load_concepts(term, data_dir / "concepts.csv")
    for path in sorted(data_dir.glob("*.csv")):
        if path.name not in _FIXED:
            _load_value_set(term, path)
    _load_products(term, data_dir / "rxnorm_products.csv")
    synonyms = _load_drug_classes(term, data_dir / "drug_classes.csv")
    _index_drug_names(term, synonyms)
    _load_knowledge(term, data_dir / KNOWLEDGE_DIR)
    term.prefix_lengths = {
        url: tuple(sorted({len(k) for k in codes}, reverse=True))
        for url, codes in term.prefix.items()
    }
    term.text = TextMatcher(phrases)
    _load_context(term, data_dir / "context.csv", phrases)
    return term


_cache: dict[Path, Terminology] = {}
# The same answers keyed by the directory as written, so a repeat call (once per request) costs a
# dict lookup instead of Path.resolve()'s system calls.
_by_name: dict[str, Terminology] = {}
_lock = threading.Lock()


def load_terminology(data_dir: str | os.PathLike[str] | None = None) -> Terminology:
    """The indexed value sets, loaded once per directory (thread-safe).

    `data_dir` defaults to `$MAPPINGS_DATA_DIR`, else the package's `data/` directory.
    Raises `DataError` naming the file and row of the first problem found.
    """
    chosen = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or DATA_DIR
    name = os.fspath(chosen)
    found = _by_name.get(name)
    if found is not None:
        return found
    path = Path(chosen).resolve()
    with _lock:
        found = _cache.get(path)
        if found is None:
            found = build_terminology(path)
            _cache[path] = found
        _by_name[name] = found
    return found
