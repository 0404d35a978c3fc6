# PCI DSS 8.2.8 asks re-authentication after 15 idle minutes: the idle timeout is a setting (R7.1)
policy session_idle_timeout=15m

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa
  anna logs in with "Correct horse battery 42"
  expect session for anna: closes after 15h, idle after 15m

at 09:14
  anna uses her session
  expect session for anna: valid

at 09:29
  anna uses her session
  expect session for anna: closed because idle_timeout

  # An idle timeout longer than the session itself is refused.
  policy session_idle_timeout=16h
  expect policy error session_idle_timeout
