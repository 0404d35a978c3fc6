# Codes are six digits, only the current one is valid, and a code once used cannot be replayed (R6.1, PCI DSS 8.5.1)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna starts mfa enrolment
  anna confirms mfa with the current code
  expect events for anna: account_registered, activation_link_issued, account_activated, mfa_enrolment_started, mfa_enrolment_confirmed

at 09:01:00
  anna logs in with "Correct horse battery 42"
  expect decision mfa_required, reason mfa_required

  anna logs in with "Correct horse battery 42" and the current code
  expect decision allowed

at 09:01:10
  # Same 30-second window, same code: someone watching over her shoulder.
  anna logs in with "Correct horse battery 42" and the same code again
  expect decision mfa_required, reason mfa_invalid_code
  expect events for anna: mfa_code_rejected

  anna logs in with "Correct horse battery 42" and code "12345"
  expect decision mfa_required, reason mfa_invalid_code

at 09:01:30
  anna logs in with "Correct horse battery 42" and the current code
  expect decision allowed
