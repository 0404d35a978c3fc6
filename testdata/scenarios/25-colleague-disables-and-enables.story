# Users with user management disable and re-enable accounts of their property; without one, support acts on a written request (R5.1)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  property "Pensione Miramare" as miramare
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  register marco@hotel-lac.example with password "Blue lantern over water 5" at lac
  register giulia@hotel-lac.example with password "Quiet garden in April 12" at lac
  register sara@miramare.example with password "Seven lemons on a silver tray" at miramare
  grant user management to marco at lac
  marco activates his account with the activation link
  anna activates her account with the activation link
  sara activates her account with the activation link
  anna defers mfa
  sara defers mfa

at 10:00
  giulia disables anna at lac
  expect error not_authorised
  expect status for anna: active

  marco disables anna at lac
  expect events for anna: account_disabled
  expect status for anna: disabled with reasons disabled_manually
  anna logs in with "Correct horse battery 42"
  expect decision denied, reason disabled_manually

  marco disables anna at lac
  expect error already_disabled

at 11:00
  giulia enables anna at lac
  expect error not_authorised
  marco enables anna at lac
  expect events for anna: account_enabled
  expect status for anna: active
  anna logs in with "Correct horse battery 42"
  expect decision allowed

at 12:00
  # Pensione Miramare has nobody with user management: its primary contact writes to support.
  support "REQ-2026-0042" disables sara at miramare
  expect status for sara: disabled with reasons disabled_manually
  support "REQ-2026-0043" enables sara at miramare
  expect status for sara: active
  sara logs in with "Seven lemons on a silver tray"
  expect decision allowed
