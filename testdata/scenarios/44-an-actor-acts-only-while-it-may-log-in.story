# A colleague acts on others only while their own account may log in: locked, disabled or
# deleted, their user management stays on record but cannot be used, and nothing is written

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  register marco@hotel-lac.example with password "Blue lantern over water 5" at lac
  register giulia@hotel-lac.example with password "Quiet garden in April 12" at lac
  grant user management to marco at lac
  grant user management to giulia at lac
  anna activates her account with the activation link
  marco activates his account with the activation link
  giulia activates her account with the activation link
  marco defers mfa

at 09:05
  marco logs in with "wrong" six times
  expect status for marco: locked with reasons account_locked

at 09:10
  marco disables anna at lac
  expect error actor_inactive
  expect events for anna: none
  marco deletes anna
  expect error actor_inactive
  marco resets mfa for anna
  expect error actor_inactive
  expect status for anna: active

  # Unlocked, marco may act again.
  marco unlocks his account with the unlock link
  marco disables anna at lac
  expect events for anna: account_disabled

at 09:20
  # A disabled colleague cannot lift the disable, nor unlock anyone.
  giulia disables marco at lac
  expect events for marco: account_disabled
  marco enables anna at lac
  expect error actor_inactive
  expect status for anna: disabled with reasons disabled_manually
  giulia enables anna at lac
  expect events for anna: account_enabled

at 09:30
  # Nor can a deleted one.
  giulia deletes marco
  marco disables anna at lac
  expect error actor_inactive
  expect events for anna: none
