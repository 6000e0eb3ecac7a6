package metrics

import "github.com/prometheus/client_golang/prometheus"

// Document session metrics (issue 15, the session side).
var (
	// DocEditors is the number of editors connected to the document
	// sessions on this node.
	DocEditors = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "opsync_document_editors", Help: "Editors connected to the document sessions on this node.",
	})
	// DocOpBatches counts editors' operation batches by answer.
	DocOpBatches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opsync_document_op_batches_total", Help: "Operation batches sent by editors, by answer (accepted, rebase).",
	}, []string{"answer"})
)

func init() { registry.MustRegister(DocEditors, DocOpBatches) }
