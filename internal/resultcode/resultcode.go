// Package resultcode names the result codes of the push API, exactly as the
// source document spells them, plus opsync's own codes for input the source
// document does not cover.
package resultcode

// Codes of the source document (mPaaS data sync, §5.2 / §5.3).
const (
	Success          = "SUCCESS"
	DuplicatedBizID  = "DUPLICATED_BIZ_ID"
	NotOnline        = "NOT_ONLINE"
	ThirdMsgIDIsNull = "THIRDMSGID_IS_NULL"
	BizNotOnline     = "BIZ_NOT_ONLINE"
	ArgsIsNull       = "ARGS_IS_NULL"
	NotSupportGlobal = "NOT_SUPPORT_GLOBAL"
	PayloadLong      = "PAYLOAD_LONG"
	ThirdMsgIDLong   = "THIRD_MSG_ID_LONG"
	SystemError      = "SYSTEM_ERROR"
)

// opsync's own codes.
const (
	// ArgsInvalid: a body that is not a JSON object, a field of the wrong
	// type or over its limit where the source has no code for it.
	ArgsInvalid = "ARGS_INVALID"
	// InstanceNotFound: the instanceId names no instance.
	InstanceNotFound = "INSTANCE_NOT_FOUND"
	// Unauthorized: the X-Opsync-Api-Key header is missing or is not the
	// instance's API key, and the instance does not let the caller's
	// network push without one.
	Unauthorized = "UNAUTHORIZED"
	// ArgsNotUTF8: the body is not UTF-8 text (bytes that are not UTF-8,
	// or a \u escape of half a surrogate pair), which would be stored with
	// replacement characters.
	ArgsNotUTF8 = "ARGS_NOT_UTF8"
)

// Successful reports whether the source document counts code as success.
func Successful(code string) bool {
	return code == Success || code == DuplicatedBizID || code == NotOnline
}
