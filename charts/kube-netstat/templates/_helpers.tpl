{{/* Chart name, overridable. */}}
{{- define "kube-netstat.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped name: the release name alone when it already contains the chart's. */}}
{{- define "kube-netstat.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kube-netstat.agentName" -}}
{{- printf "%s-agent" (include "kube-netstat.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kube-netstat.aggregatorName" -}}
{{- printf "%s-aggregator" (include "kube-netstat.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The aggregator's Service: the plugin's default is kube-netstat/kube-netstat:http. */}}
{{- define "kube-netstat.serviceName" -}}
{{- default (include "kube-netstat.fullname" .) .Values.aggregator.service.name -}}
{{- end -}}

{{- define "kube-netstat.agentServiceAccountName" -}}
{{- if .Values.agent.serviceAccount.create -}}
{{- default (include "kube-netstat.agentName" .) .Values.agent.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.agent.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kube-netstat.aggregatorServiceAccountName" -}}
{{- if .Values.aggregator.serviceAccount.create -}}
{{- default (include "kube-netstat.aggregatorName" .) .Values.aggregator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.aggregator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kube-netstat.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Where agents stream: the Service's gRPC port, by its cluster DNS name. */}}
{{- define "kube-netstat.aggregatorAddress" -}}
{{- printf "%s.%s.svc:%d" (include "kube-netstat.serviceName" .) .Release.Namespace (int .Values.aggregator.service.grpcPort) -}}
{{- end -}}

{{- define "kube-netstat.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kube-netstat.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kube-netstat.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "kube-netstat.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Per component: (dict "root" $ "component" "agent"). */}}
{{- define "kube-netstat.componentSelectorLabels" -}}
{{ include "kube-netstat.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "kube-netstat.componentLabels" -}}
{{ include "kube-netstat.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* A number as a flag value: integers without a decimal point, fractions as written. */}}
{{- define "kube-netstat.number" -}}
{{- if eq (float64 .) (float64 (int64 .)) -}}{{ int64 . }}{{- else -}}{{ float64 . }}{{- end -}}
{{- end -}}
