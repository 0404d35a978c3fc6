# "Not authorised" comes from missing permissions, not from account state: the two stay apart (R5.3, seed 003)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  register giulia@hotel-lac.example with password "Quiet garden in April 12" at lac
  anna activates her account with the activation link
  giulia activates her account with the activation link
  anna defers mfa
  giulia defers mfa

at 10:00
  # Giulia logs in fine...
  giulia logs in with "Quiet garden in April 12"
  expect decision allowed

  # ...but the user-management page refuses her.
  giulia disables anna
  expect error not_authorised
  giulia resets mfa for anna
  expect error not_authorised
  giulia deletes anna
  expect error not_authorised

  # The refusals left both accounts as they were.
  expect events for anna: none
  expect status for anna: active
  expect status for giulia: active
  giulia logs in with "Quiet garden in April 12"
  expect decision allowed
