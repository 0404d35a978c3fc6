# Shared logins are forbidden: one account used by several people is blocked; each person needs their own (R3.2, seed 003)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register reception@hotel-lac.example as frontdesk with password "Front desk shared pass 1" at lac
  frontdesk activates their account with the activation link
  frontdesk defers mfa
  frontdesk logs in with "Front desk shared pass 1"
  expect decision allowed

at 09:03
  # Someone else, at the other end of the building, signs in with the same account.
  frontdesk logs in with "Front desk shared pass 1"
  expect decision allowed
  expect open sessions for frontdesk: 2

  detect "one account, several people: two devices at once" on frontdesk from "203.0.113.9" and "203.0.113.44" on devices "reception-pc" and "housekeeping-tablet"
  expect events for frontdesk: suspicious_activity_detected, session_ended x2, account_disabled
  expect open sessions for frontdesk: 0
  expect status for frontdesk: disabled with reasons disabled_suspicious_activity

  # "Sorry, we are unable to process your request."
  frontdesk logs in with "Front desk shared pass 1"
  expect decision denied, reason disabled_suspicious_activity

  # The way out is one account per person.
  register lena@hotel-lac.example with password "Quiet garden in April 12" at lac
  lena activates her account with the activation link
  lena defers mfa
  lena logs in with "Quiet garden in April 12"
  expect decision allowed
