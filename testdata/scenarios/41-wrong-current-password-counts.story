# A wrong current password on the change-password form is a wrong password: six in a row lock the account (R1.1; PCI DSS 8.3.4, 10.2.1.4)
# An expired password is changed by proving the current one without a session (story 12), so this form is open to guessing.

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 09:30
  anna changes her password from "guess 1" to "Lake view at dawn 2026"
  expect error invalid_credentials
  anna changes her password from "guess 2" to "Lake view at dawn 2026"
  expect error invalid_credentials
  anna changes her password from "guess 3" to "Lake view at dawn 2026"
  expect error invalid_credentials
  anna changes her password from "guess 4" to "Lake view at dawn 2026"
  expect error invalid_credentials
  anna changes her password from "guess 5" to "Lake view at dawn 2026"
  expect error invalid_credentials
  expect status active
  anna changes her password from "guess 6" to "Lake view at dawn 2026"
  expect error invalid_credentials
  expect status locked with reasons account_locked

  anna logs in with "Correct horse battery 42"
  expect decision denied, reason account_locked
