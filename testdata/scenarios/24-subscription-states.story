# A suspended or cancelled subscription is a property state that refuses its members ("goodbyes are sad") (R4.3, seed 003)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 2026-03-05T08:00:00Z
  subscription of lac becomes suspended by support "CASE-2026-118"
  expect events for lac: subscription_status_changed
  expect status for anna: disabled with reasons property_suspended
  expect access for anna: lac denied (property_suspended)
  anna logs in with "Correct horse battery 42"
  expect decision denied, reason property_suspended

at 2026-03-06T08:00:00Z
  subscription of lac becomes active
  expect status for anna: active
  anna logs in with "Correct horse battery 42"
  expect decision allowed

at 2026-03-20T08:00:00Z
  subscription of lac becomes cancelled
  expect status for anna: disabled with reasons property_suspended
  anna logs in with "Correct horse battery 42"
  expect decision denied, reason property_suspended
