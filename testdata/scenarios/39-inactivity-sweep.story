# Accounts unused for 90 days are disabled by the inactivity sweep; a colleague re-enables them (PCI DSS 8.2.6)
# MFA and password expiry are left out of this story, which spans months.
policy mfa_required=false password_max_age=365d

at 2026-01-05T08:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  register bruno@hotel-lac.example with password "Another horse battery 7" at lac
  register marco@hotel-lac.example with password "Blue lantern over water 5" at lac
  grant user management to marco at lac
  anna activates her account with the activation link
  bruno activates his account with the activation link
  marco activates his account with the activation link
  anna logs in with "Correct horse battery 42"
  marco logs in with "Blue lantern over water 5"

at 2026-02-04T08:00:00Z
  bruno logs in with "Another horse battery 7"
  marco logs in with "Blue lantern over water 5"

at 2026-04-05T07:59:00Z
  run the inactivity sweep
  expect events for anna: none

at 2026-04-05T08:00:00Z
  # Ninety days after anna's last login; bruno and marco logged in a month later.
  run the inactivity sweep
  expect events for anna: account_disabled
  expect events for bruno: none
  expect events for marco: none
  expect status for anna: disabled with reasons disabled_inactivity
  expect status for bruno: active
  anna logs in with "Correct horse battery 42"
  expect decision denied, reason disabled_inactivity

  # A colleague with user management brings her back.
  marco enables anna
  expect status for anna: active
  anna logs in with "Correct horse battery 42"
  expect decision allowed
