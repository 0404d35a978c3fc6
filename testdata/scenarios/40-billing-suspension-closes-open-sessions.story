# Access is disabled when two invoices are overdue or the subscription ends: a session already open is closed too (R4.1, R4.3, R7.1)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  property "Hotel Bellevue" as bellevue
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  register bruno@bellevue.example with password "Another horse battery 7" at bellevue
  anna activates her account with the activation link
  bruno activates his account with the activation link
  anna defers mfa
  bruno defers mfa
  anna logs in with "Correct horse battery 42"
  bruno logs in with "Another horse battery 7"

at 09:10
  invoice INV-2026-017 of lac is overdue
  invoice INV-2026-031 of lac is overdue
  expect status for anna: disabled with reasons disabled_billing
  anna uses her session
  expect session for anna: closed because account_blocked

  subscription of bellevue becomes cancelled
  expect status for bruno: disabled with reasons property_suspended
  bruno uses his session
  expect session for bruno: closed because account_blocked
