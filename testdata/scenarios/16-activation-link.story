# Activation links are valid 24 hours, can be re-sent, and confirming twice is an error (R2.4)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  expect events for anna: account_registered, activation_link_issued
  expect status pending_activation with reasons pending_activation

  anna logs in with "Correct horse battery 42"
  expect decision denied, reason pending_activation

at 2026-03-03T09:00:00Z
  anna activates her account with the activation link
  expect error link_expired
  expect events for anna: activation_link_rejected

  # "Didn't receive confirmation instructions?"
  anna asks for a new activation link
  anna activates her account with the first activation link
  expect error link_superseded
  expect events for anna: activation_link_issued, activation_link_rejected

  anna activates her account with the latest activation link
  expect events for anna: account_activated
  expect status active

  anna activates her account with the latest activation link
  expect error already_activated
  anna asks for a new activation link
  expect error already_activated
