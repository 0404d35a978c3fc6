package credentials

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP settings fixed by the rulebook (R6.1): six digits, 30-second steps.
const (
	totpDigits = otp.DigitsSix
	totpPeriod = 30
)

// ErrBadKey is returned for an MFA encryption key that is not 32 bytes.
var ErrBadKey = errors.New("credentials: MFA key must be 32 bytes (AES-256)")

// MFA creates TOTP secrets, keeps them sealed with AES-256-GCM, and verifies codes. The key
// lives outside the log (data directory or configuration), so the log alone never reveals a
// secret.
type MFA struct {
	aead   cipher.AEAD
	issuer string
}

// NewMFA builds the sealer from a 32-byte key.
func NewMFA(key []byte, issuer string) (*MFA, error) {
	if len(key) != 32 {
		return nil, ErrBadKey
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &MFA{aead: aead, issuer: issuer}, nil
}

// Enrolment is a new secret: sealed for the log, and in clear once for the person's app.
type Enrolment struct {
	Sealed     []byte
	Secret     string // base32, shown once
	OTPAuthURI string
}

// NewEnrolment generates a secret for the account's e-mail.
func (m *MFA) NewEnrolment(email string) (Enrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: m.issuer, AccountName: email, Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return Enrolment{}, fmt.Errorf("credentials: totp: %w", err)
	}
	sealed, err := m.seal([]byte(key.Secret()))
	if err != nil {
		return Enrolment{}, err
	}
	return Enrolment{Sealed: sealed, Secret: key.Secret(), OTPAuthURI: key.URL()}, nil
}

func (m *MFA) seal(plain []byte) ([]byte, error) {
	nonce := make([]byte, m.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return m.aead.Seal(nonce, nonce, plain, nil), nil
}

func (m *MFA) open(sealed []byte) ([]byte, error) {
	n := m.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("credentials: sealed secret too short")
	}
	return m.aead.Open(nil, sealed[:n], sealed[n:], nil)
}

// Verify checks a six-digit code at now, tolerating skew steps either side (R6.5), and
// returns the time step the code belongs to so the caller can refuse its reuse.
func (m *MFA) Verify(sealed []byte, code string, now time.Time, skew int) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	secret, err := m.open(sealed)
	if err != nil {
		return 0, false
	}
	step := now.Unix() / totpPeriod
	for d := -skew; d <= skew; d++ {
		s := step + int64(d)
		want, err := CodeAt(string(secret), s)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// CodeAt computes the code of a base32 secret at a time step (tests and the demo use it).
func CodeAt(secret string, step int64) (string, error) {
	if _, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret); err != nil {
		return "", fmt.Errorf("credentials: secret is not base32: %w", err)
	}
	return totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0).UTC(), totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
}
