# A timed unlock is a setting, and PCI DSS 8.3.4 wants a lockout of at least 30 minutes (R1.4)

policy lockout_duration=10m
expect policy error lockout_duration
policy lockout_duration=30m

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 09:05
  anna logs in with "wrong" six times
  expect decision denied, reason account_locked, retry after 30m
  expect status locked with reasons account_locked

at 09:34
  anna logs in with "Correct horse battery 42"
  expect decision denied, reason account_locked, retry after 1m

at 09:35
  expect status active
  anna logs in with "Correct horse battery 42"
  expect decision allowed, attempts remaining 6
  expect events for anna: account_unlocked, login_succeeded, session_started
