# Every detection is kept on the audit timeline: the rule, the evidence and the action taken (R3.3)

at 2026-03-02T09:00:00Z
  property "Hotel du Lac" as lac
  register anna@hotel-lac.example with password "Correct horse battery 42" at lac
  anna activates her account with the activation link
  anna defers mfa

at 10:00
  # A weak signal is recorded for review and changes nothing else.
  detect "login from a new country" on anna from "198.51.100.7" for review
  expect events for anna: suspicious_activity_detected
  expect audit for anna: rule "login from a new country", from "198.51.100.7", action recorded_for_review
  expect status for anna: active

at 10:20
  detect "impossible travel: Geneva then Singapore in 20 minutes" on anna from "203.0.113.9" and "198.51.100.7" on devices "front-desk-pc" and "unknown-android"
  expect events for anna: suspicious_activity_detected, account_disabled
  expect audit for anna: rule "impossible travel: Geneva then Singapore in 20 minutes", from "203.0.113.9" and "198.51.100.7", devices "front-desk-pc" and "unknown-android", action account_disabled
  expect status for anna: disabled with reasons disabled_suspicious_activity

at 10:30
  # A second detection while disabled is still recorded, without disabling twice.
  detect "shared login" on anna from "203.0.113.50"
  expect events for anna: suspicious_activity_detected
  expect audit for anna: rule "shared login", from "203.0.113.50", action account_disabled
