# A member of two properties keeps access to the one that is not suspended (R4.1)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  property "Hotel Bellevue" as bellevue
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  add anna to bellevue
  anna activates her account with the activation link
  anna defers mfa

at 2026-03-10T08:00:00Z
  invoice INV-2026-017 of lac is overdue
  invoice INV-2026-031 of lac is overdue
  expect access for anna: lac denied (disabled_billing), bellevue allowed
  expect status for anna: active
  anna logs in with "Correct horse battery 42"
  expect decision allowed

at 2026-03-20T08:00:00Z
  # Once every property is suspended, so is she.
  invoice B-2026-005 of bellevue is overdue
  invoice B-2026-006 of bellevue is overdue
  expect access for anna: lac denied (disabled_billing), bellevue denied (disabled_billing)
  expect status for anna: disabled with reasons disabled_billing
  anna logs in with "Correct horse battery 42"
  expect decision denied, reason disabled_billing
