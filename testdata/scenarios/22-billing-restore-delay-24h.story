# Seeds 000/001 say access may take 24-48 hours to return after payment: with billing_restore_delay=24h it returns after 24 hours (R4.2)
# MFA is left out of this story, which spans weeks.
policy billing_restore_delay=24h mfa_required=false

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link

at 2026-03-10T08:00:00Z
  invoice INV-2026-017 of lac is overdue
  invoice INV-2026-031 of lac is overdue
  expect status for anna: disabled with reasons disabled_billing

at 2026-03-11T15:00:00Z
  invoice INV-2026-017 of lac is paid
  invoice INV-2026-031 of lac is paid
  expect events for lac: invoice_paid, property_access_restored, invoice_paid
  expect status for anna: disabled with reasons disabled_billing
  anna logs in with "Correct horse battery 42"
  expect decision denied, reason disabled_billing

at 2026-03-12T14:59:00Z
  expect status for anna: disabled with reasons disabled_billing

at 2026-03-12T15:00:00Z
  expect status for anna: active
  anna logs in with "Correct horse battery 42"
  expect decision allowed
