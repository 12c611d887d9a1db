"""The written notice of allocation each member receives (IRC §1388 asks for one; so does a
cooperative that explains itself), in Spanish or English, as data and as a printable page."""

import html
from typing import Any

from cooperative.kernel.money import format_minor
from cooperative.surplus.rules import RunStatus

TEXT = {
    "en": {
        "title": "Notice of allocation of patronage refund",
        "intro": "Fiscal year {year}. Under version {bylaws} of the bylaws, approved by the "
        "general assembly (proposal {proposal}), your share of the cooperative's surplus is:",
        "patronage": "Your patronage",
        "share": "Your patronage refund",
        "cash": "Paid in cash",
        "retained": "Retained in your capital account",
        "redemption": "Redeemable in",
        "draft_intro": "Fiscal year {year}. DRAFT under version {bylaws} of the bylaws, not yet "
        "approved by the general assembly: these figures may change.",
        "minutes": "{n} minutes of consults",
        "below": "Below the minimum patronage the bylaws set: no refund this year.",
        "status": "Status",
    },
    "es": {
        "title": "Aviso de asignación de rendimientos por patronazgo",
        "intro": "Ejercicio {year}. Conforme a la versión {bylaws} de los estatutos, aprobada por "
        "la asamblea general (propuesta {proposal}), su parte del excedente de la cooperativa es:",
        "patronage": "Su patronazgo",
        "share": "Su rendimiento",
        "cash": "Pagado en efectivo",
        "retained": "Retenido en su cuenta de capital",
        "redemption": "Reembolsable en",
        "draft_intro": "Ejercicio {year}. BORRADOR conforme a la versión {bylaws} de los "
        "estatutos, aún sin aprobación de la asamblea general: estas cifras pueden cambiar.",
        "minutes": "{n} minutos de consulta",
        "below": "Por debajo del patronazgo mínimo de los estatutos: sin rendimiento este año.",
        "status": "Estado",
    },
}
STATUS = {
    "en": {
        RunStatus.POSTED: "posted",
        RunStatus.DRAFT: "draft, awaiting the assembly",
        RunStatus.REVERSED: "reversed",
    },
    "es": {
        RunStatus.POSTED: "contabilizado",
        RunStatus.DRAFT: "borrador, en espera de la asamblea",
        RunStatus.REVERSED: "revertido",
    },
}


def notice(
    *,
    lang: str,
    member_name: str,
    member_class: str,
    money_patronage: bool,
    run: dict[str, Any],
    line: dict[str, Any],
) -> dict[str, Any]:
    """The notice as data: every figure, and each sentence in the member's language."""
    t = TEXT[lang]
    currency = run["currency"]
    patronage = (
        format_minor(line["patronage"], currency)
        if money_patronage
        else t["minutes"].format(n=line["patronage"])
    )
    return {
        "language": lang,
        "title": t["title"],
        "member": member_name,
        "member_class": member_class,
        "fiscal_year": run["fiscal_year"],
        "bylaws_version": run["bylaws_version"],
        "proposal_id": run["proposal_id"],
        "status": run["status"],
        "intro": t["draft_intro" if run["proposal_id"] is None else "intro"].format(
            year=run["fiscal_year"], bylaws=run["bylaws_version"], proposal=run["proposal_id"]
        ),
        "currency": currency,
        "patronage": line["patronage"],
        "patronage_text": patronage,
        "eligible": line["eligible"],
        "share_minor": line["share_minor"],
        "cash_minor": line["cash_minor"],
        "retained_minor": line["retained_minor"],
        "redemption_year": line["redemption_year"],
        "lines": [
            [t["patronage"], patronage],
            [t["share"], format_minor(line["share_minor"], currency)],
            [t["cash"], format_minor(line["cash_minor"], currency)],
            [t["retained"], format_minor(line["retained_minor"], currency)],
            [t["redemption"], str(line["redemption_year"])],
            [t["status"], STATUS[lang].get(run["status"], run["status"])],
        ],
        "note": None if line["eligible"] else t["below"],
    }


def printable(data: dict[str, Any]) -> str:
    """A self-contained page that prints on one sheet (no outside assets)."""
    e = html.escape
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in data["lines"])
    note = f"<p class=note>{e(data['note'])}</p>" if data["note"] else ""
    return f"""<!doctype html>
<html lang="{e(data["language"])}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(data["title"])} {data["fiscal_year"]}</title>
<style>
body {{ font: 12pt/1.45 Georgia, serif; max-width: 40em; margin: 2em auto; color: #111; }}
h1 {{ font-size: 1.4em; }} table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .35em .5em; border-bottom: 1px solid #999; }}
td {{ text-align: right; font-variant-numeric: tabular-nums; }} .note {{ font-style: italic; }}
@media print {{ body {{ margin: 0; }} @page {{ margin: 2cm; }} }}
</style></head>
<body><h1>{e(data["title"])}</h1>
<p><strong>{e(data["member"])}</strong></p>
<p>{e(data["intro"])}</p>
<table>{rows}</table>{note}
<p><small>Tequio · {e(str(data["proposal_id"]))}</small></p>
</body></html>
"""
