"""The prescription on paper: an HTML print view (one sheet, A4 or Letter) and a PDF (fpdf2),
each with the verification code and a QR code (segno) of the public verification address; and
the page a pharmacy sees when it opens that address."""

import base64
import hashlib
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from html import escape
from io import BytesIO
from typing import Literal

import segno
from babel.dates import format_date, format_datetime
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from cooperative.kernel import clock
from telehealth.prescriptions import rules
from telehealth.prescriptions.models import Prescription

Paper = Literal["letter", "a4"]

LABELS: Mapping[str, Mapping[str, str]] = {
    "es": {
        "title": "Receta médica",
        "doctor": "Médico",
        "cedula": "Cédula profesional",
        "specialty_cedula": "Cédula de especialidad",
        "patient": "Paciente",
        "date": "Fecha",
        "drugs": "Medicamentos",
        "presentation": "Presentación",
        "dose": "Dosis",
        "route": "Vía",
        "frequency": "Frecuencia",
        "duration": "Duración",
        "quantity": "Cantidad",
        "instructions": "Indicaciones",
        "indications": "Indicaciones generales",
        "code": "Código de verificación",
        "verify_at": "Verifique esta receta en",
        "digest": "Sello digital (SHA-256)",
        "revoked": "REVOCADA",
        "revoked_on": "Revocada por el médico el",
        "valid": "VÁLIDA",
        "telemedicine": "Emitida en consulta de telemedicina. No incluye sustancias controladas.",
        "verification": "Verificación de receta",
        "verified_times": "Verificaciones",
        "not_found": "No hay ninguna receta con este código. Revise que lo escribió completo.",
        "shown": "Se muestra solo lo que la farmacia necesita: ningún dato del paciente.",
    },
    "en": {
        "title": "Prescription",
        "doctor": "Doctor",
        "cedula": "Cédula profesional (licence)",
        "specialty_cedula": "Specialty cédula",
        "patient": "Patient",
        "date": "Date",
        "drugs": "Medicines",
        "presentation": "Presentation",
        "dose": "Dose",
        "route": "Route",
        "frequency": "Frequency",
        "duration": "Duration",
        "quantity": "Quantity",
        "instructions": "Instructions",
        "indications": "General instructions",
        "code": "Verification code",
        "verify_at": "Verify this prescription at",
        "digest": "Digital seal (SHA-256)",
        "revoked": "REVOKED",
        "revoked_on": "Revoked by the doctor on",
        "valid": "VALID",
        "telemedicine": "Issued in a telemedicine consult. Contains no controlled substances.",
        "verification": "Prescription verification",
        "verified_times": "Verifications",
        "not_found": "No prescription has this code. Check that it was typed in full.",
        "shown": "Only what a pharmacy needs is shown: nothing about the patient.",
    },
}

_FIELDS = ("dose", "route", "frequency", "duration", "quantity")


def language_of(tag: str) -> str:
    """The labels' language for a language tag: Spanish unless it is English."""
    return "en" if tag.lower().startswith("en") else "es"


def _day(value: date, language: str) -> str:
    return format_date(value, format="long", locale=language)


def _moment(value: datetime, language: str) -> str:
    return format_datetime(value.astimezone(clock.zone()), format="medium", locale=language)


def qr_svg(url: str) -> str:
    """The QR code of `url` as inline SVG that scales to its box."""
    return str(segno.make_qr(url, error="m").svg_inline(omitsize=True, svgclass="qr"))


_PRINT_CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
color:#111;background:#eceff1}
.sheet{background:#fff;max-width:200mm;margin:12px auto;padding:10mm 12mm}
header{display:flex;gap:12px;justify-content:space-between;align-items:flex-start;
border-bottom:2px solid #0b5d4b;padding-bottom:8px}
h1{font-size:19px;margin:0 0 2px;color:#0b5d4b}
.muted{color:#444;font-size:12.5px;margin:0}
.verify{display:flex;gap:10px;align-items:center;flex:0 0 auto}
.qr{width:30mm;height:30mm;display:block}
.code{font:600 13px/1.3 ui-monospace,Menlo,Consolas,monospace;word-break:break-all;max-width:44mm}
.doc p{margin:1px 0}
.who{display:flex;flex-wrap:wrap;gap:4px 24px;margin:8px 0;font-size:14px}
ol{margin:4px 0 0;padding-left:20px}
li{margin:0 0 6px;break-inside:avoid}
li h3{font-size:14.5px;margin:0}
.facts{display:flex;flex-wrap:wrap;gap:0 16px;font-size:13px;margin:1px 0}
.instr{margin:2px 0 0}
.banner{background:#b00020;color:#fff;font-weight:700;padding:6px 10px;margin:8px 0}
footer{border-top:1px solid #999;margin-top:8px;padding-top:6px;font-size:11.5px;color:#333}
footer p{margin:1px 0}
.digest{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
@media (max-width:600px){header{flex-direction:column}.sheet{padding:14px;margin:0}}
@page{margin:10mm}
@media print{body{background:#fff;font-size:12.5px}.sheet{margin:0;padding:0;max-width:none}
.qr{width:28mm;height:28mm}}
"""

_VERIFY_CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#111}
main{max-width:720px;margin:0 auto;padding:16px}
.status{font-size:22px;font-weight:700;padding:12px 14px;color:#fff}
.valid{background:#0b6b3a}.revoked{background:#b00020}.unknown{background:#555}
ol{padding-left:22px}li{margin-bottom:8px}
.muted{color:#555;font-size:14px}
"""


def style_hash(css: str) -> str:
    """The CSP source that allows exactly this inline style sheet."""
    digest = hashlib.sha256(css.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def content_security_policy(css: str) -> str:
    """Nothing loaded from anywhere: the page is one document, its style and QR inline."""
    return "; ".join(
        (
            "default-src 'none'",
            f"style-src {style_hash(css)}",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


PRINT_CSP = content_security_policy(_PRINT_CSS)
VERIFY_CSP = content_security_policy(_VERIFY_CSS)


def _line_html(number: int, line: Mapping[str, str], words: Mapping[str, str]) -> str:
    facts = "".join(
        f"<span><b>{words[key]}:</b> {escape(str(line[key]))}</span>" for key in _FIELDS
    )
    return (
        f"<li><h3>{escape(str(line['generic_name']))} — {escape(str(line['presentation']))}"
        f"</h3><div class=facts>{facts}</div>"
        f"<p class=instr><b>{words['instructions']}:</b> {escape(str(line['instructions']))}</p>"
        "</li>"
    )


def _prescriber_html(prescription: Prescription, words: Mapping[str, str]) -> str:
    specialty = (
        f"<p>{escape(prescription.prescriber_specialty)}</p>"
        if prescription.prescriber_specialty
        else ""
    )
    specialty_cedula = (
        f"<p>{words['specialty_cedula']}: {escape(prescription.prescriber_specialty_cedula)}</p>"
        if prescription.prescriber_specialty_cedula
        else ""
    )
    return (
        f"<p><b>{escape(prescription.prescriber_name)}</b></p>{specialty}"
        f"<p>{words['cedula']}: {escape(prescription.prescriber_cedula)}</p>{specialty_cedula}"
    )


def print_html(prescription: Prescription, url: str) -> str:
    """The print view: fits one sheet of A4 or Letter with up to ten medicines of ordinary
    length; the verification code and QR code sit at the top, seen without scrolling."""
    language = language_of(prescription.language)
    words = LABELS[language]
    code = rules.grouped(prescription.code)
    revoked = (
        f"<p class=banner>{words['revoked']} — {words['revoked_on']} "
        f"{escape(_moment(prescription.revoked_at, language))}</p>"
        if prescription.revoked_at is not None
        else ""
    )
    indications = (
        f"<p><b>{words['indications']}:</b> {escape(prescription.indications)}</p>"
        if prescription.indications
        else ""
    )
    items = "".join(
        _line_html(i, line, words) for i, line in enumerate(prescription.lines, start=1)
    )
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{words['title']} {code}</title><style>{_PRINT_CSS}</style></head><body>"
        '<main class="sheet">'
        "<header><div class=doc>"
        f"<h1>{words['title']}</h1>"
        f"<p class=muted><b>{escape(prescription.institution_name)}</b></p>"
        f"<p class=muted>{escape(prescription.institution_address)}</p>"
        f"{_prescriber_html(prescription, words)}</div>"
        f'<div class=verify><div aria-label="QR">{qr_svg(url)}</div>'
        f"<div><p class=muted>{words['code']}</p>"
        f'<p class=code id="verification-code">{code}</p></div></div></header>'
        f"{revoked}"
        "<div class=who>"
        f"<span><b>{words['patient']}:</b> {escape(prescription.patient_name)}</span>"
        f"<span><b>{words['date']}:</b> {escape(_day(prescription.issued_on, language))}</span>"
        "</div>"
        f"<h2 class=muted>{words['drugs']}</h2><ol>{items}</ol>{indications}"
        "<footer>"
        f"<p>{words['verify_at']} {escape(url)}</p>"
        f"<p>{words['telemedicine']}</p>"
        f"<p>{words['digest']}: <span class=digest>{prescription.digest}</span></p>"
        "</footer></main></body></html>"
    )


def verification_html(prescription: Prescription | None, language: str) -> str:
    """What a pharmacy sees at the verification address: valid or revoked (and when), the
    prescriber, the date and the medicines; nothing about the patient."""
    words = LABELS[language_of(language)]
    lang = language_of(language)
    if prescription is None:
        body = f"<p class='status unknown'>{words['not_found']}</p>"
    else:
        if prescription.revoked_at is None:
            status = f"<p class='status valid'>{words['valid']}</p>"
        else:
            when = escape(_moment(prescription.revoked_at, lang))
            status = (
                f"<p class='status revoked'>{words['revoked']} — {words['revoked_on']} {when}</p>"
            )
        items = "".join(
            _line_html(i, line, words) for i, line in enumerate(prescription.lines, start=1)
        )
        body = (
            f"{status}<div>{_prescriber_html(prescription, words)}"
            f"<p>{escape(prescription.institution_name)}</p>"
            f"<p><b>{words['date']}:</b> {escape(_day(prescription.issued_on, lang))}</p></div>"
            f"<h2>{words['drugs']}</h2><ol>{items}</ol>"
            f"<p class=muted>{words['verified_times']}: {prescription.verification_count}</p>"
            f"<p class=muted>{words['shown']}</p>"
        )
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{words['verification']}</title><style>{_VERIFY_CSS}</style></head><body><main>"
        f"<h1>{words['verification']}</h1>{body}</main></body></html>"
    )


# PDF -------------------------------------------------------------------------------------------


def _latin(text: str) -> str:
    """fpdf2's built-in fonts hold Latin-1 (every Spanish letter): anything else is written
    without its accent, or as `?`."""
    text = text.replace("\u2014", "-").replace("\u2013", "-")
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        out = []
        for char in text:
            try:
                char.encode("latin-1")
                out.append(char)
            except UnicodeEncodeError:
                base = unicodedata.normalize("NFKD", char)[0]
                out.append(base if base.encode("latin-1", "ignore") else "?")
        return "".join(out)


def _qr_pdf(pdf: FPDF, url: str, x: float, y: float, size: float) -> None:
    """The QR code drawn as vector squares (crisp at any printer's resolution)."""
    qr = segno.make_qr(url, error="m")
    matrix = qr.matrix
    module = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for row, cells in enumerate(matrix):
        for column, dark in enumerate(cells):
            if dark:
                pdf.rect(x + column * module, y + row * module, module, module, style="F")


def pdf_bytes(prescription: Prescription, url: str, paper: Paper = "letter") -> bytes:
    """The prescription as a PDF of one page (Letter, or A4)."""
    language = language_of(prescription.language)
    words = LABELS[language]
    code = rules.grouped(prescription.code)
    pdf = FPDF(orientation="portrait", unit="mm", format=paper)
    pdf.set_title(f"{words['title']} {code}")
    pdf.set_creator("Tequio")
    pdf.set_lang(language)
    pdf.set_creation_date(prescription.issued_at)
    pdf.set_margins(15, 12, 15)
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    width = pdf.w - 30
    qr_size = 30.0
    top = pdf.get_y()
    _qr_pdf(pdf, url, pdf.w - 15 - qr_size, top, qr_size)
    text_width = width - qr_size - 6

    def write(text: str, size: float = 10, style: str = "", height: float = 5) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(text_width, height, _latin(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.set_text_color(11, 93, 75)
    write(words["title"], 16, "B", 8)
    pdf.set_text_color(0, 0, 0)
    write(prescription.institution_name, 10, "B")
    write(prescription.institution_address, 9)
    write(prescription.prescriber_name, 11, "B", 6)
    if prescription.prescriber_specialty:
        write(prescription.prescriber_specialty, 10)
    write(f"{words['cedula']}: {prescription.prescriber_cedula}")
    if prescription.prescriber_specialty_cedula:
        write(f"{words['specialty_cedula']}: {prescription.prescriber_specialty_cedula}")
    pdf.set_xy(pdf.w - 15 - qr_size - 10, top + qr_size + 1)
    pdf.set_font("Helvetica", "", 7)
    pdf.cell(qr_size + 10, 4, _latin(words["code"]), align="C")
    pdf.set_xy(pdf.w - 15 - qr_size - 10, top + qr_size + 5)
    pdf.set_font("Courier", "B", 7)
    pdf.multi_cell(qr_size + 10, 3.5, code, align="C")
    pdf.set_y(max(pdf.get_y(), top + qr_size + 14))
    pdf.set_draw_color(11, 93, 75)
    pdf.line(15, pdf.get_y(), pdf.w - 15, pdf.get_y())
    pdf.ln(2)
    text_width = width
    if prescription.revoked_at is not None:
        pdf.set_text_color(176, 0, 32)
        write(
            f"{words['revoked']} - {words['revoked_on']} "
            f"{_moment(prescription.revoked_at, language)}",
            12,
            "B",
            7,
        )
        pdf.set_text_color(0, 0, 0)
    write(f"{words['patient']}: {prescription.patient_name}", 11, "", 6)
    write(f"{words['date']}: {_day(prescription.issued_on, language)}", 11, "", 6)
    pdf.ln(1)
    write(words["drugs"], 11, "B", 6)
    for number, line in enumerate(prescription.lines, start=1):
        write(f"{number}. {line['generic_name']} - {line['presentation']}", 10.5, "B", 5.5)
        write("   " + "   ".join(f"{words[key]}: {line[key]}" for key in _FIELDS), 9.5, "", 5)
        write(f"   {words['instructions']}: {line['instructions']}", 9.5, "", 5)
        pdf.ln(1)
    if prescription.indications:
        write(f"{words['indications']}: {prescription.indications}", 10, "", 5)
    pdf.ln(2)
    pdf.set_draw_color(150, 150, 150)
    pdf.line(15, pdf.get_y(), pdf.w - 15, pdf.get_y())
    pdf.ln(1)
    write(f"{words['verify_at']} {url}", 8.5, "", 4)
    write(words["telemedicine"], 8.5, "", 4)
    write(f"{words['digest']}: {prescription.digest}", 7.5, "", 4)
    buffer = BytesIO()
    pdf.output(buffer)
    return buffer.getvalue()
