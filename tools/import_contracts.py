"""An import-linter contract type that pyproject.toml's `[tool.importlinter]` uses.

`own_models`: each domain's tables are its own. A domain package is a child of one of the
`containers` (cooperative.dues, telehealth.scheduling, …); its `models` module may be imported
only from inside that package, and by the `allowed_importers` (the HTTP shell). Another domain
asks the domain's service. It covers every domain, also one added later, without being told.
"""

from dataclasses import dataclass

import grimp
from importlinter import Contract, ContractCheck, fields, output


@dataclass(frozen=True, slots=True)
class IllegalImport:
    importer: str
    imported: str
    lines: tuple[int, ...]


class OwnModelsContract(Contract):
    type_name = "own_models"

    containers = fields.ListField(subfield=fields.StringField())
    allowed_importers = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        containers: list[str] = self.containers  # type: ignore[assignment]
        allowed: list[str] = self.allowed_importers or []  # type: ignore[assignment]
        illegal: list[IllegalImport] = []
        for container in containers:
            for domain in sorted(graph.find_children(container)):
                models = f"{domain}.models"
                if models not in graph.modules:
                    continue
                for importer in sorted(graph.find_modules_that_directly_import(models)):
                    if not any(_within(importer, owner) for owner in [domain, *allowed]):
                        details = graph.get_import_details(importer=importer, imported=models)
                        lines = tuple(detail["line_number"] for detail in details)
                        illegal.append(IllegalImport(importer, models, lines))
        return ContractCheck(kept=not illegal, warnings=None, metadata={"illegal": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for found in check.metadata["illegal"]:
            lines = ", ".join(str(line) for line in found.lines)
            output.print_error(f"- {found.importer} -> {found.imported} (l.{lines})", bold=False)
            output.new_line()
        output.print("Ask the other domain's service instead of reading its tables.")


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")
