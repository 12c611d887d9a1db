"""Webhook refusals."""

from cooperative.kernel.errors import Conflict, TequioError, Text


class UnsafeWebhookUrl(TequioError):
    status = 422
    slug = "unsafe-webhook-url"
    title = Text("This URL cannot receive webhooks", "Esta URL no puede recibir webhooks")
    detail = Text(
        "Webhooks go only to https URLs whose host is a public address (not loopback, private "
        "or link-local) and that carry no credentials.",
        "Los webhooks solo van a URL https cuyo host es una dirección pública (no loopback, "
        "privada ni de enlace local) y que no llevan credenciales.",
    )


class EndpointDisabled(Conflict):
    slug = "webhook-endpoint-disabled"
    title = Text("The endpoint is switched off", "El endpoint está desactivado")
    detail = Text(
        "Switch the endpoint on again (PATCH is_active: true) before replaying a delivery.",
        "Vuelva a activar el endpoint (PATCH is_active: true) antes de repetir un envío.",
    )
