"""Choosing the answer's language from Accept-Language, and Spanish for validation messages."""

from typing import Any

from cooperative.kernel.errors import LANGUAGES, Language, Wording


def negotiate(accept_language: str | None, default: Language) -> Language:
    """The best of our languages for an Accept-Language header (`es-MX,es;q=0.9,en;q=0.8`)."""
    if not accept_language:
        return default
    best: tuple[float, Language] | None = None
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if primary == "*":
            primary = default
        if primary in LANGUAGES and quality > 0:
            # equal quality: the earlier tag wins
            score = quality - position * 1e-6
            if best is None or score > best[0]:
                best = (score, primary)
    return best[1] if best else default


# Pydantic error types with their Spanish wording; `{…}` are filled from the error's context.
_SPANISH: dict[str, str] = {
    "missing": "Este campo es obligatorio.",
    "extra_forbidden": "Este campo no está permitido.",
    "string_type": "Debe ser un texto.",
    "string_too_short": "Debe tener al menos {min_length:# carácter|# caracteres}.",
    "string_too_long": "Debe tener como máximo {max_length:# carácter|# caracteres}.",
    "string_pattern_mismatch": "No tiene el formato esperado.",
    "int_type": "Debe ser un número entero.",
    "int_parsing": "Debe ser un número entero.",
    "float_parsing": "Debe ser un número.",
    "bool_parsing": "Debe ser verdadero o falso.",
    "bool_type": "Debe ser verdadero o falso.",
    "greater_than": "Debe ser mayor que {gt}.",
    "greater_than_equal": "Debe ser mayor o igual que {ge}.",
    "less_than": "Debe ser menor que {lt}.",
    "less_than_equal": "Debe ser menor o igual que {le}.",
    "literal_error": "Debe ser uno de: {expected}.",
    "enum": "Debe ser uno de: {expected}.",
    "proposal_kind": "kind debe ser uno de: {expected}.",
    "redirect_uri": "Cada URI de redirección debe ser https, http a 127.0.0.1 o un esquema propio "
    "de la app, sin fragmento y de 500 caracteres como máximo.",
    "jwks": "jwks debe ser el conjunto de claves públicas (JWK Set) de una app confidencial, "
    "sin claves privadas.",
    "app_kind": "Una app pública necesita una URI de redirección; la app de una clínica debe ser "
    "confidencial (un servidor con secreto).",
    "uuid_parsing": "Debe ser un identificador UUID.",
    "uuid_type": "Debe ser un identificador UUID.",
    "datetime_parsing": "Debe ser una fecha y hora RFC 3339 con zona horaria.",
    "datetime_from_date_parsing": "Debe ser una fecha y hora RFC 3339 con zona horaria.",
    "timezone_aware": "La fecha y hora debe llevar zona horaria.",
    "date_parsing": "Debe ser una fecha AAAA-MM-DD.",
    "json_invalid": "El cuerpo no es JSON válido.",
    "model_attributes_type": "Debe ser un objeto JSON.",
    "dict_type": "Debe ser un objeto JSON.",
    "list_type": "Debe ser una lista.",
    "too_short": "Debe tener al menos {min_length:# elemento|# elementos}.",
    "too_long": "Debe tener como máximo {max_length:# elemento|# elementos}.",
    "value_error": "Valor no válido.",
    "phone_e164": "No es un teléfono válido de México o de EE. UU.; escríbalo con su lada, "
    "p. ej. 951 123 4567, o con el código del país, p. ej. +52 951 123 4567.",
    "contact_required": "Indique un correo o un número de teléfono.",
    "one_contact": "Indique un correo o un número de teléfono, no ambos.",
    "blank": "No debe estar vacío.",
    "email": "No es un correo electrónico válido.",
    "json_type": "Debe ser {expected_es} (llegó {given_es}).",
    "iso_format": "Indique una fecha u hora ISO 8601, no un número.",
    "date_format": "Indique la fecha como AAAA-MM-DD.",
    "clinic_for_staff": "`clinic_id` es obligatorio para el rol de personal de clínica "
    "(`clinic_staff`), y solo para ese rol.",
    "wall_time": "Indique una hora del día como HH:MM o HH:MM:SS (reloj de 24 horas), "
    "p. ej. 09:00.",
    "wall_time_offset": "Indique la hora en el reloj del profesional, sin desfase UTC ni Z "
    "(HH:MM o HH:MM:SS, p. ej. 09:00): se aplica la zona horaria del profesional.",
    "window": "Una ventana termina después de empezar, el mismo día (no hay ventanas que crucen "
    "la medianoche).",
    "duplicate_window": "La ventana {start}-{end} del día {weekday} aparece dos veces.",
    "time_off_order": "El tiempo libre termina después de empezar.",
    "decimal_string": 'Indique el tipo de cambio como texto decimal, p. ej. "17.25".',
    "rate_positive": "Un tipo de cambio es un número positivo.",
    "rate_decimals": "Un tipo de cambio tiene como máximo {places:# decimal|# decimales}.",
    "rate_bounds": "Un tipo de cambio está entre {low} y {high}.",
    "same_currency": "Un tipo de cambio convierte entre dos monedas distintas.",
    "control_character": "No debe contener caracteres de control.",
    "curp": "No es una CURP válida (18 caracteres con su dígito verificador).",
    "moment": "Indique un instante con su desfase UTC, entre 1970 y 9000.",
    "one_target": "Indique `household_id` o `member_id`, solo uno de los dos.",
    "subdivision": "Indique un estado del país del hogar, p. ej. MX-OAX o US-CA.",
    "timezone": "Indique una zona horaria IANA, p. ej. America/Mexico_City.",
    "referral_required": "Una consulta pedida por una clínica lleva su motivo de envío "
    "(`referral_reason`).",
    "specialty": "Especialidad desconocida; vea GET /v1/practitioners/specialties.",
    "specialty_cedula": "La cédula de especialidad va en una licencia MX.",
}


def validation_message(error: dict[str, Any], language: Language) -> str:
    kind = str(error.get("type"))
    if kind == "value_error" and "email address" in str(error.get("msg")):
        kind = "email"
    if language == "es":
        template = _SPANISH.get(kind)
        if template is not None:
            try:
                return Wording(language, {}).format(template, **(error.get("ctx") or {}))
            except (KeyError, IndexError, ValueError):
                return template
    message = str(error.get("msg", "Invalid value."))
    return message.removeprefix("Value error, ")
