from cooperative.kernel.errors import TequioError, Text


class NoExchangeRate(TequioError):
    status = 409
    slug = "no-exchange-rate"
    title = Text("No exchange rate in force", "No hay tipo de cambio vigente")
    detail = Text(
        "No {source}→{target} rate is in force on {on}, the day the money was received. "
        "Record one effective on or before that day (POST /v1/exchange-rates), then confirm "
        "again.",
        "No hay tipo de cambio {source}→{target} vigente el {on}, día en que se recibió el "
        "dinero. Registre uno vigente ese día o antes (POST /v1/exchange-rates) y vuelva a "
        "confirmar.",
    )


class RateDateOutOfRange(TequioError):
    status = 422
    slug = "exchange-rate-date"
    title = Text("Rate date out of range", "Fecha del tipo de cambio fuera de rango")
    detail = Text(
        "A rate takes effect between {earliest} and {latest} (at most {days:# day|# days} ahead).",
        "Un tipo de cambio entra en vigor entre el {earliest} y el {latest} (a lo sumo "
        "{days:# día|# días} adelante).",
    )


class LargeRateChange(TequioError):
    status = 422
    slug = "exchange-rate-large-change"
    title = Text("Large change of rate", "Cambio grande del tipo de cambio")
    detail = Text(
        "{rate} differs by more than {percent}% from {previous}, the {source}→{target} rate in "
        "force on {on}. If it is right, send it again with `confirm_large_change: true`.",
        "{rate} difiere en más de {percent}% de {previous}, el tipo {source}→{target} vigente "
        "el {on}. Si es correcto, envíelo de nuevo con `confirm_large_change: true`.",
    )
