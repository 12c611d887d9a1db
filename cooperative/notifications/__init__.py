"""The outbox: messages to people, written with the change that causes them and delivered by a
dispatcher through providers.

- `models`: one row per message to one account (channel, template, language, parameters, an
  idempotency key, when it is due, its state and the provider's answer).
- `service`: what writers call in their own transaction (`enqueue`, `move`, `cancel_about`) and
  a member's list of their messages.
- `templates`: every message's text in Spanish and English and the only parameters it takes
  (so no health data can be stored with a message).
- `delivery`: what a dispatcher does (claim due messages, record the provider's answer or
  receipt); the loop itself is the shell's (`app/outbox.py`, `tequio worker`).
- `providers`: the interface a channel's provider implements; the development inbox and SMTP.
- `twilio`: SMS and WhatsApp through a Twilio-style HTTP API, and its signed status callback
  (`receive`, behind `POST /v1/notifications/receipts/twilio`), which calls
  `delivery.record_receipt`: the only way a message becomes `delivered`. A WhatsApp message
  refused for good or reported failed goes by SMS instead (`delivery.fall_back`: a second
  message with its own key, `about` the same thing, `fallback_of` naming the first, the reason
  in the first's `provider_reason`).

- `preferences`: how a member wants to be reached (channels opted in to, with when, in their
  order; language; quiet hours in their zone; consent to the household's sponsor receiving
  their consult reminders). `enqueue` reads them once per transaction and account (`read`
  fetches several at once) to choose the channel, the language and when the message may go
  (`rules.outside_quiet_hours`; `urgent` messages such as one-time codes do not wait).

Who writes to it: consult reminders (`telehealth/scheduling/reminders.py`), a doctor's notices
of their day and of a patient waiting (`telehealth/scheduling/notices.py`,
`telehealth/consults/notices.py`), a clinic's of its referrals (`telehealth/referrals/notices.py`),
a vote's roll (`cooperative/governance/notices.py`: opened; closing soon, queued for all and
deleted by each member's first cast so that only non-voters get it and nothing records who
voted; result) and a household's payers (`cooperative/treasury/notices.py`: invoice due, payment
confirmed, amounts formatted in the recipient's locale).

It sits below dues, membership and governance (they may write to it: invoices due, votes
opening) and above accounts (it reads a recipient's language and address). What plugs in later
without changing the table: one-time codes (a template whose code parameter is `secret`:
masked in logs and in the member's list; queued `urgent`, past quiet hours). Webhooks can
share the claim, retries and states, but their recipient is an OAuth client, not an account:
that needs a migration (a client column beside a nullable `recipient_account_id`).
"""
