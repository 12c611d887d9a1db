from cooperative.kernel.errors import IdempotencyKeyReused, TequioError, Text

__all__ = [
    "ExchangeRateRequired",
    "IdempotencyKeyReused",
    "InvalidPeriod",
    "UnneededExchangeRate",
]


class ExchangeRateRequired(TequioError):
    status = 422
    slug = "exchange-rate-required"
    title = Text("Exchange rate required", "Se requiere el tipo de cambio")
    detail = Text(
        "This is owed in {target}; a payment in {paid} must say the exchange rate used "
        "(`exchange_rate`: {target} per 1 {paid}).",
        "Esto se debe en {target}; un pago en {paid} debe indicar el tipo de cambio usado "
        "(`exchange_rate`: {target} por 1 {paid}).",
    )


class UnneededExchangeRate(TequioError):
    status = 422
    slug = "exchange-rate-not-applicable"
    title = Text("No exchange rate here", "Aquí no aplica tipo de cambio")
    detail = Text(
        "The payment is in {target}, the currency owed; leave out `exchange_rate`.",
        "El pago es en {target}, la moneda adeudada; omita `exchange_rate`.",
    )


class InvalidPeriod(TequioError):
    status = 422
    slug = "invalid-period"
    title = Text("Invalid period", "Periodo no válido")
    detail = Text(
        "Dues periods start every {months} month(s) from January: {period} is not one.",
        "Los periodos de cuotas empiezan cada {months} mes(es) desde enero: {period} no lo es.",
    )
