# Two overdue invoices disable access ("Did you forget to pay your invoice?"); payment restores it at once (R4.1, R4.2, R4.3)
# MFA is left out of this story, which spans weeks.
policy mfa_required=false

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link

at 2026-03-10T08:00:00Z
  invoice INV-2026-017 of lac is overdue
  expect events for lac: invoice_overdue
  expect status for anna: active
  anna logs in with "Correct horse battery 42"
  expect decision allowed

at 2026-04-10T08:00:00Z
  invoice INV-2026-031 of lac is overdue
  expect events for lac: invoice_overdue, property_access_suspended
  expect status for anna: disabled with reasons disabled_billing
  expect access for anna: lac denied (disabled_billing)

  anna logs in with "Correct horse battery 42"
  expect decision denied, reason disabled_billing

at 2026-04-11T15:00:00Z
  invoice INV-2026-017 of lac is paid
  expect events for lac: invoice_paid, property_access_restored
  # The default restore delay is 0: access is back at once.
  expect status for anna: active
  expect access for anna: lac allowed
  anna logs in with "Correct horse battery 42"
  expect decision allowed
