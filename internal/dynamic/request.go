package dynamic

import "encoding/json"

// Request is what one pull asks a card's callback: the data of the
// sources that are due, for one viewer of one card.
type Request struct {
	CorpID     string // the instance id
	UserID     string // the viewer
	OutTrackID string // the card
	SourceIDs  []string
}

// callbackBody is the service's request body. Its content is a JSON
// document in a JSON string, as the service sends it.
type callbackBody struct {
	Type       string `json:"type"`
	CorpID     string `json:"corpId"`
	UserID     string `json:"userId"`
	OutTrackID string `json:"outTrackId"`
	Content    string `json:"content"`
}

type queryContent struct {
	Requests []sourceQuery `json:"dynamicDataSourceQueryRequests"`
}

type sourceQuery struct {
	SourceID string `json:"dynamicDataSourceId"`
}

// Encode is the body of r's callback request:
// {"type":"dynamicDataCallback","corpId","userId","outTrackId",
// "content":"{\"dynamicDataSourceQueryRequests\":[{\"dynamicDataSourceId\":…},…]}"}.
func (r Request) Encode() []byte {
	q := queryContent{Requests: make([]sourceQuery, len(r.SourceIDs))}
	for i, id := range r.SourceIDs {
		q.Requests[i] = sourceQuery{SourceID: id}
	}
	content, err := json.Marshal(q)
	if err != nil { // strings only: cannot fail
		panic(err)
	}
	b, err := json.Marshal(callbackBody{Type: "dynamicDataCallback", CorpID: r.CorpID, UserID: r.UserID, OutTrackID: r.OutTrackID, Content: string(content)})
	if err != nil {
		panic(err)
	}
	return b
}

// DecodeRequest parses a callback request body the way a callback owner
// would (tests' callback servers use it): the body, then its content.
func DecodeRequest(b []byte) (Request, error) {
	var body callbackBody
	if err := json.Unmarshal(b, &body); err != nil {
		return Request{}, err
	}
	var q queryContent
	if err := json.Unmarshal([]byte(body.Content), &q); err != nil {
		return Request{}, err
	}
	r := Request{CorpID: body.CorpID, UserID: body.UserID, OutTrackID: body.OutTrackID}
	for _, s := range q.Requests {
		r.SourceIDs = append(r.SourceIDs, s.SourceID)
	}
	return r, nil
}
