package messages

import (
	"testing"

	"accountd/domain"
)

// Every reason the engine gives has its words in every language, and none leaks under
// generic disclosure but the prompts.
func TestEveryReasonSpeaksThreeLanguages(t *testing.T) {
	for _, code := range domain.ReasonCodes() {
		for _, lang := range Langs {
			msg, fix := Reason(code, lang, domain.DisclosureSpecific)
			if msg == "" || fix == "" || msg == genericMessage[lang] && code != domain.ReasonInvalidCredentials {
				t.Errorf("%s lacks %s text: %q %q", code, lang, msg, fix)
			}
			msg, fix = Reason(code, lang, domain.DisclosureGeneric)
			if prompt := domain.IsPrompt(code); !prompt && (msg != genericMessage[lang] || fix != "") {
				t.Errorf("%s leaks under generic disclosure in %s: %q %q", code, lang, msg, fix)
			}
		}
	}
	for code := range reasons {
		if _, ok := domain.LookupReason(code); !ok {
			t.Errorf("words for %s, which is no reason code", code)
		}
	}
}
