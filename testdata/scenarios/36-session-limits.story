# Sessions close automatically after 15 hours, or after 6 hours without activity (R7.1, seed 001)

at 2026-03-02T08:30:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  register bruno@hotel-lac.example with password "Another horse battery 7" at lac
  anna activates her account with the activation link
  bruno activates his account with the activation link
  anna defers mfa
  bruno defers mfa

at 09:00
  anna logs in with "Correct horse battery 42"
  expect events for anna: login_succeeded, session_started
  expect session for anna: closes after 15h, idle after 6h, closes at 2026-03-03T00:00:00Z
  bruno logs in with "Another horse battery 7"

at 14:59
  anna uses her session
  expect session for anna: valid
  expect events for anna: session_active

at 15:00
  # Bruno has not used his since 09:00: six idle hours close it.
  bruno uses his session
  expect session for bruno: closed because idle_timeout

at 20:58
  # Under six hours since she last used it: still open.
  anna uses her session
  expect session for anna: valid

at 2026-03-03T00:00:00Z
  # Fifteen hours after login, activity or not.
  anna uses her session
  expect session for anna: closed because expired
  expect events for anna: session_ended
  expect open sessions for anna: 0
