package streams

import (
	"strings"

	"accountd/domain"
	"accountd/eventstore/eventlog"
)

// OCSFVersion is the version of the Open Cybersecurity Schema Framework the ocsf objects
// follow (1.5.0 is the first with Account Change's Unlock activity).
const OCSFVersion = "1.5.0"

// OCSF classes and activities accountd maps to (schema.ocsf.io, Identity & Access Management).
const (
	ocsfCategoryIAM       = 3
	ocsfAccountChange     = 3001
	ocsfAuthentication    = 3002
	activityLogon         = 1
	activityLogoff        = 2
	activityCreate        = 1
	activityEnable        = 2
	activityPasswordChg   = 3
	activityPasswordReset = 4
	activityDisable       = 5
	activityDelete        = 6
	activityLock          = 9
	activityMFAEnable     = 10
	activityMFADisable    = 11
	activityUnlock        = 12
	statusSuccess         = 1
	statusFailure         = 2
	severityInformational = 1
	severityLow           = 2
	severityMedium        = 3
	userTypeUser          = 1
	userTypeAdmin         = 2
	userTypeSystem        = 3
)

var (
	ocsfClassNames    = map[int]string{ocsfAccountChange: "Account Change", ocsfAuthentication: "Authentication"}
	ocsfActivityNames = map[int]map[int]string{
		ocsfAuthentication: {activityLogon: "Logon", activityLogoff: "Logoff"},
		ocsfAccountChange: {activityCreate: "Create", activityEnable: "Enable", activityPasswordChg: "Password Change",
			activityPasswordReset: "Password Reset", activityDisable: "Disable", activityDelete: "Delete", activityLock: "Lock",
			activityMFAEnable: "MFA Factor Enable", activityMFADisable: "MFA Factor Disable", activityUnlock: "Unlock"},
	}
	ocsfStatusNames   = map[int]string{statusSuccess: "Success", statusFailure: "Failure"}
	ocsfSeverityNames = map[int]string{severityInformational: "Informational", severityLow: "Low", severityMedium: "Medium"}
	ocsfUserTypeNames = map[int]string{userTypeUser: "User", userTypeAdmin: "Admin", userTypeSystem: "System"}
)

// OCSF is an event as an OCSF 1.x Authentication or Account Change record.
type OCSF struct {
	ClassUID     int           `json:"class_uid"`
	ClassName    string        `json:"class_name"`
	CategoryUID  int           `json:"category_uid"`
	CategoryName string        `json:"category_name"`
	ActivityID   int           `json:"activity_id"`
	ActivityName string        `json:"activity_name"`
	TypeUID      int           `json:"type_uid"`
	TypeName     string        `json:"type_name"`
	Time         int64         `json:"time"` // milliseconds since the epoch, the event's domain time
	SeverityID   int           `json:"severity_id"`
	Severity     string        `json:"severity"`
	StatusID     int           `json:"status_id"`
	Status       string        `json:"status"`
	StatusDetail string        `json:"status_detail,omitempty"`
	IsMFA        *bool         `json:"is_mfa,omitempty"`
	Actor        *OCSFActor    `json:"actor,omitempty"`
	User         OCSFUser      `json:"user"`
	SrcEndpoint  *OCSFEndpoint `json:"src_endpoint,omitempty"`
	Session      *OCSFSession  `json:"session,omitempty"`
	Metadata     OCSFMetadata  `json:"metadata"`
}

// OCSFUser is the OCSF User object: the account the event is about.
type OCSFUser struct {
	UID       string `json:"uid,omitempty"`
	UIDAlt    string `json:"uid_alt,omitempty"`
	EmailAddr string `json:"email_addr,omitempty"`
	TypeID    int    `json:"type_id,omitempty"`
	Type      string `json:"type,omitempty"`
}

// OCSFActor is who caused the change: a user, support, or accountd itself.
type OCSFActor struct {
	User    *OCSFUser `json:"user,omitempty"`
	AppName string    `json:"app_name,omitempty"`
}

// OCSFEndpoint is where a sign-in came from.
type OCSFEndpoint struct {
	IP string `json:"ip,omitempty"`
	// UID is the device the login service reported (its device_id).
	UID string `json:"uid,omitempty"`
}

// OCSFSession names the session by its one-way reference (never the session ID).
type OCSFSession struct {
	UID string `json:"uid"`
}

// OCSFMetadata says which product and schema version wrote the record.
type OCSFMetadata struct {
	Version        string      `json:"version"`
	Product        OCSFProduct `json:"product"`
	UID            string      `json:"uid"`
	CorrelationUID string      `json:"correlation_uid,omitempty"`
	Sequence       uint64      `json:"sequence"`
}

// OCSFProduct names accountd.
type OCSFProduct struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
}

// ocsfRecord maps an event to OCSF, or returns nil for events outside the two classes.
// accountID and email name the account the event is about ("" when unknown).
func ocsfRecord(d eventlog.Decoded, accountID, email string) *OCSF {
	user := OCSFUser{UID: accountID, EmailAddr: email, TypeID: userTypeUser}
	self := &OCSFActor{User: &OCSFUser{UID: accountID, EmailAddr: email, TypeID: userTypeUser, Type: ocsfUserTypeNames[userTypeUser]}}
	system := &OCSFActor{AppName: "accountd"}
	var r *OCSF
	auth := func(activity, status, severity int, origin *domain.Origin, detail string) {
		r = &OCSF{ClassUID: ocsfAuthentication, ActivityID: activity, StatusID: status, SeverityID: severity, StatusDetail: detail, User: user}
		if origin != nil && (origin.IP != "" || origin.DeviceID != "") {
			r.SrcEndpoint = &OCSFEndpoint{IP: origin.IP, UID: origin.DeviceID}
		}
	}
	change := func(activity, severity int, actor *OCSFActor, detail string) {
		r = &OCSF{ClassUID: ocsfAccountChange, ActivityID: activity, StatusID: statusSuccess, SeverityID: severity, StatusDetail: detail, User: user, Actor: actor}
	}
	yes, no := true, false
	switch e := d.Event.Data.(type) {
	case domain.LoginSucceeded:
		auth(activityLogon, statusSuccess, severityInformational, &e.Origin, "")
		r.IsMFA = &no
		if e.MFAStep != 0 {
			r.IsMFA = &yes
		}
		if e.SessionID != "" {
			r.Session = &OCSFSession{UID: sessionRef(e.SessionID)}
		}
	case domain.LoginFailed:
		auth(activityLogon, statusFailure, severityLow, &e.Origin, e.Reason)
	case domain.LoginRejected:
		auth(activityLogon, statusFailure, severityLow, &e.Origin, strings.Join(e.Reasons, ","))
	case domain.MFACodeRejected:
		detail := "mfa_code_rejected"
		if e.Replayed {
			detail = "mfa_code_replayed"
		}
		auth(activityLogon, statusFailure, severityLow, &e.Origin, detail)
		r.IsMFA = &yes
	case domain.UnknownEmailLoginFailed:
		user = OCSFUser{UIDAlt: e.EmailHash}
		auth(activityLogon, statusFailure, severityLow, &e.Origin, "unknown_email")
	case domain.SessionEnded:
		auth(activityLogoff, statusSuccess, severityInformational, nil, string(e.Cause))
		r.Session = &OCSFSession{UID: sessionRef(e.SessionID)}
	case domain.AccountRegistered:
		user.EmailAddr = e.Email
		change(activityCreate, severityInformational, system, "")
	case domain.PasswordChanged:
		activity, actor := activityPasswordChg, self
		if e.Cause == domain.PasswordChangedByReset || e.Cause == domain.PasswordChangedByAdmin {
			activity = activityPasswordReset
		}
		if e.Actor != nil {
			actor = ocsfActor(*e.Actor)
		}
		change(activity, severityInformational, actor, string(e.Cause))
	case domain.AccountLocked:
		change(activityLock, severityMedium, system, "")
	case domain.AccountUnlocked:
		actor := self
		switch {
		case e.Actor != nil:
			actor = ocsfActor(*e.Actor)
		case e.Cause == domain.UnlockByTimeout:
			actor = system
		}
		change(activityUnlock, severityInformational, actor, string(e.Cause))
	case domain.AccountDisabled:
		change(activityDisable, severityMedium, ocsfActor(e.Actor), string(e.Kind))
	case domain.AccountEnabled:
		change(activityEnable, severityInformational, ocsfActor(e.Actor), string(e.Kind))
	case domain.AccountRestored:
		change(activityEnable, severityInformational, ocsfActor(e.Actor), "restored")
	case domain.AccountDeleted:
		change(activityDelete, severityInformational, ocsfActor(e.Actor), "")
	case domain.MFAEnrolmentConfirmed:
		change(activityMFAEnable, severityInformational, self, "totp")
	case domain.MFAReset:
		change(activityMFADisable, severityInformational, ocsfActor(e.Actor), "totp")
	default:
		return nil
	}
	r.ClassName = ocsfClassNames[r.ClassUID]
	r.CategoryUID, r.CategoryName = ocsfCategoryIAM, "Identity & Access Management"
	r.ActivityName = ocsfActivityNames[r.ClassUID][r.ActivityID]
	r.TypeUID = r.ClassUID*100 + r.ActivityID
	r.TypeName = r.ClassName + ": " + r.ActivityName
	r.Time = d.Event.At.UnixMilli()
	r.Severity = ocsfSeverityNames[r.SeverityID]
	r.Status = ocsfStatusNames[r.StatusID]
	if r.User.TypeID != 0 {
		r.User.Type = ocsfUserTypeNames[r.User.TypeID]
	}
	r.Metadata = OCSFMetadata{Version: OCSFVersion, Product: OCSFProduct{Name: "accountd", VendorName: "accountd"},
		UID: d.Recorded.ID.String(), CorrelationUID: correlationOf(d.Meta), Sequence: d.Recorded.Position}
	return r
}

// ocsfActor maps accountd's actor: a colleague with user management is an Admin user,
// support is an Admin named "support", the system is accountd itself.
func ocsfActor(a domain.Actor) *OCSFActor {
	switch a.Kind {
	case domain.ActorAccount:
		return &OCSFActor{User: &OCSFUser{UID: a.AccountID, TypeID: userTypeAdmin, Type: ocsfUserTypeNames[userTypeAdmin]}}
	case domain.ActorSupport:
		return &OCSFActor{User: &OCSFUser{UID: "support", TypeID: userTypeAdmin, Type: ocsfUserTypeNames[userTypeAdmin]}}
	default:
		return &OCSFActor{AppName: "accountd"}
	}
}

// correlationOf is what ties the events of one request together: the request's
// correlation ID, else the command's.
func correlationOf(m domain.Metadata) string {
	if m.CorrelationID != "" {
		return m.CorrelationID
	}
	return m.CommandID
}
