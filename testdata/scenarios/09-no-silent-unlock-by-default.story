# By default a lock lasts until identity is confirmed: no silent time-out (R1.4, PCI DSS 8.3.4)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 09:05
  anna logs in with "wrong" six times
  expect decision denied, reason account_locked

at +6h
  anna logs in with "Correct horse battery 42"
  expect decision denied, reason account_locked
  expect status locked with reasons account_locked

at +7d
  anna logs in with "Correct horse battery 42"
  expect decision denied, reason account_locked
  expect events for anna: login_rejected
  expect status locked with reasons account_locked
