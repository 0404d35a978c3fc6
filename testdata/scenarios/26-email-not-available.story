# Creating an account with an e-mail that already exists fails: "e-mail not available" (R5.2, seed 004)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register marco@hotel-lac.example with password "Blue lantern over water 5" at lac
  grant user management to marco at lac
  marco activates his account with the activation link
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  expect events for anna: account_registered, activation_link_issued

  register anna@hotel-lac.example with password "Another horse battery 7" at lac
  expect error email_not_available
  # Addresses are compared without regard to case.
  register ANNA@Hotel-Lac.example with password "Another horse battery 7" at lac
  expect error email_not_available
  # A colleague re-creating an existing member of the same property gets the same answer.
  register anna@hotel-lac.example with password "Another horse battery 7" at lac by marco
  expect error email_not_available

  expect events for anna: none
  anna activates her account with the activation link
  anna defers mfa
  anna logs in with "Correct horse battery 42"
  expect decision allowed
