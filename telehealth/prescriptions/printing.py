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
from babel.dates import format_date
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from cooperative.kernel.errors import moment_phrase
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
    """ "2 de diciembre de 2026 a las 13:40 (hora de Ciudad de México)", in the cooperative's
    zone."""
    return moment_phrase(value, "en" if language == "en" else "es")


def qr_svg(url: str) -> str:
    """The QR code of `url` as inline SVG that scales to its box."""
    return str(segno.make_qr(url, error="m").svg_inline(omitsize=True, svgclass="qr"))


_PRINT_CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
color:#111;background:#eceff1}
.sheet{background:#fff;max-width:200mm;margin:12px auto;padding:10mm 12mm}
header{display:flex;gap:12px;justify-content:space-between;align-items:flex-start;
border-bottom:2px solid #0b5d4b;padding-bottom:.5em}
h1{font-size:1.4em;margin:0 0 2px;color:#0b5d4b}
h2{font-size:.9em;margin:.5em 0 0}
.muted{color:#444;font-size:.9em;margin:0}
.verify{display:flex;gap:10px;align-items:center;flex:0 0 auto}
.qr{width:30mm;height:30mm;display:block}
.code{font:600 .95em/1.35 ui-monospace,Menlo,Consolas,monospace;max-width:44mm;margin:.2em 0 0}
.doc p{margin:1px 0}
.who{display:flex;flex-wrap:wrap;gap:4px 24px;margin:.5em 0}
ol{margin:.2em 0 0;padding-left:2em}
li{margin:0 0 .35em;break-inside:avoid}
li h3{font-size:1.03em;margin:0}
.facts{display:flex;flex-wrap:wrap;gap:0 1.1em;font-size:.93em;margin:1px 0}
.instr{margin:1px 0 0}
.banner{background:#b00020;color:#fff;font-weight:700;padding:6px 10px;margin:8px 0}
footer{border-top:1px solid #999;margin-top:.5em;padding-top:.4em;font-size:.82em;color:#333}
footer p{margin:1px 0}
.digest{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
@media (max-width:600px){header{flex-direction:column}.sheet{padding:14px;margin:0}}
@page{margin:10mm}
@media print{body{background:#fff;font-size:11.5px}.sheet{margin:0;padding:0;max-width:none}
.qr{width:26mm;height:26mm}.banner{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""

_VERIFY_CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#111}
main{max-width:720px;margin:0 auto;padding:16px}
.status{font-size:22px;font-weight:700;padding:12px 14px;color:#fff}
.valid{background:#0b6b3a}.revoked{background:#b00020}.unknown{background:#555}
ol{padding-left:22px}li{margin-bottom:10px}li h3{font-size:1.05em;margin:0}
.facts{display:flex;flex-wrap:wrap;gap:0 1em}.instr{margin:2px 0 0}p{margin:4px 0}
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


class _Sheet:
    """One PDF page being written, top to bottom, in the prescription's language."""

    MARGIN = 15.0
    QR = 30.0

    def __init__(self, prescription: Prescription, url: str, paper: Paper) -> None:
        self.prescription = prescription
        self.url = url
        self.language = language_of(prescription.language)
        self.words = LABELS[self.language]
        self.code = rules.grouped(prescription.code)
        pdf = FPDF(orientation="portrait", unit="mm", format=paper)
        pdf.set_title(f"{self.words['title']} {self.code}")
        pdf.set_creator("Tequio")
        pdf.set_lang(self.language)
        pdf.set_creation_date(prescription.issued_at)
        pdf.set_margins(self.MARGIN, 12, self.MARGIN)
        pdf.set_auto_page_break(auto=True, margin=12)
        pdf.add_page()
        self.pdf = pdf
        self.width = pdf.w - 2 * self.MARGIN

    def write(self, text: str, size: float = 10, style: str = "", height: float = 5) -> None:
        self.pdf.set_font("Helvetica", style, size)
        self.pdf.multi_cell(self.width, height, _latin(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def rule(self, gray: int) -> None:
        y = self.pdf.get_y()
        self.pdf.set_draw_color(gray, gray, gray)
        self.pdf.line(self.MARGIN, y, self.pdf.w - self.MARGIN, y)

    def header(self) -> None:
        """The cooperative and the doctor on the left; the QR code and the code on the right."""
        p, words, pdf = self.prescription, self.words, self.pdf
        top, left = pdf.get_y(), pdf.w - self.MARGIN - self.QR
        _qr_pdf(pdf, self.url, left, top, self.QR)
        full = self.width
        self.width = full - self.QR - 6
        pdf.set_text_color(11, 93, 75)
        self.write(words["title"], 16, "B", 8)
        pdf.set_text_color(0, 0, 0)
        self.write(p.institution_name, 10, "B")
        self.write(p.institution_address, 9)
        self.write(p.prescriber_name, 11, "B", 6)
        if p.prescriber_specialty:
            self.write(p.prescriber_specialty)
        self.write(f"{words['cedula']}: {p.prescriber_cedula}")
        if p.prescriber_specialty_cedula:
            self.write(f"{words['specialty_cedula']}: {p.prescriber_specialty_cedula}")
        pdf.set_y(max(pdf.get_y(), top + self.QR) + 2)
        pdf.set_font("Helvetica", "", 9)
        label = _latin(words["code"]) + ": "
        pdf.cell(pdf.get_string_width(label) + 1, 6, label)
        pdf.set_font("Courier", "B", 12)
        pdf.cell(0, 6, self.code, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
        self.width = full
        self.rule(90)
        pdf.ln(2)

    def body(self) -> None:
        """Revoked or not, the patient, the date, the medicines and the indications."""
        p, words = self.prescription, self.words
        if p.revoked_at is not None:
            self.pdf.set_text_color(176, 0, 32)
            when = _moment(p.revoked_at, self.language)
            self.write(f"{words['revoked']} - {words['revoked_on']} {when}", 12, "B", 7)
            self.pdf.set_text_color(0, 0, 0)
        self.write(f"{words['patient']}: {p.patient_name}", 11, "", 6)
        self.write(f"{words['date']}: {_day(p.issued_on, self.language)}", 11, "", 6)
        self.pdf.ln(1)
        self.write(words["drugs"], 11, "B", 6)
        for number, line in enumerate(p.lines, start=1):
            self.write(f"{number}. {line['generic_name']} - {line['presentation']}", 10.5, "B")
            self.write("   " + "   ".join(f"{words[k]}: {line[k]}" for k in _FIELDS), 9.5)
            self.write(f"   {words['instructions']}: {line['instructions']}", 9.5)
            self.pdf.ln(1)
        if p.indications:
            self.write(f"{words['indications']}: {p.indications}")

    def footer(self) -> None:
        self.pdf.ln(2)
        self.rule(150)
        self.pdf.ln(1)
        self.write(f"{self.words['verify_at']} {self.url}", 8.5, "", 4)
        self.write(self.words["telemedicine"], 8.5, "", 4)
        self.write(f"{self.words['digest']}: {self.prescription.digest}", 7.5, "", 4)

    def bytes(self) -> bytes:
        buffer = BytesIO()
        self.pdf.output(buffer)
        return buffer.getvalue()


def pdf_bytes(prescription: Prescription, url: str, paper: Paper = "letter") -> bytes:
    """The prescription as a PDF of one page (Letter, or A4), the QR code drawn as vectors."""
    sheet = _Sheet(prescription, url, paper)
    sheet.header()
    sheet.body()
    sheet.footer()
    return sheet.bytes()
