{{/* Names: at most 63 characters (DNS labels); the headless Service adds "-headless". */}}
{{- define "spanmeter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "spanmeter.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 54 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "spanmeter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "spanmeter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "spanmeter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "spanmeter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "spanmeter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "spanmeter.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Where the pod finds its files. */}}
{{- define "spanmeter.configDir" -}}/etc/spanmeter{{- end -}}
{{- define "spanmeter.tlsDir" -}}/etc/spanmeter/tls{{- end -}}
{{- define "spanmeter.authDir" -}}/etc/spanmeter/auth{{- end -}}

{{- define "spanmeter.endpoint" -}}
{{- $port := int .port -}}
{{- if eq $port 0 -}}{{- "" -}}{{- else -}}{{- printf "%s:%d" .address $port -}}{{- end -}}
{{- end -}}

{{/*
The config file: .Values.config with the keys the chart owns filled in from listenAddress,
ports, tls and auth. Setting one of those keys in .Values.config is an error.
*/}}
{{- define "spanmeter.config" -}}
{{- $v := .Values -}}
{{- $c := deepCopy (default (dict) $v.config) -}}
{{- range $key := list "http_endpoint" "tls" "http_auth" -}}
{{- if hasKey $c $key -}}
{{- fail (printf "config.%s is set by the chart (from listenAddress, ports, tls and auth): remove it from config" $key) -}}
{{- end -}}
{{- end -}}
{{- $otlp := deepCopy (default (dict) (get $c "otlp")) -}}
{{- range $key := list "http_endpoint" "grpc_endpoint" "tls" "auth" -}}
{{- if hasKey $otlp $key -}}
{{- fail (printf "config.otlp.%s is set by the chart (from listenAddress, ports, tls and auth): remove it from config" $key) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $otlp "grpc_endpoint" (include "spanmeter.endpoint" (dict "address" $v.listenAddress "port" $v.ports.otlpGrpc)) -}}
{{- $_ := set $otlp "http_endpoint" (include "spanmeter.endpoint" (dict "address" $v.listenAddress "port" $v.ports.otlpHttp)) -}}
{{- if $v.tls.otlp.enabled -}}
{{- if not $v.tls.otlp.secretName -}}{{- fail "tls.otlp.enabled needs tls.otlp.secretName (a kubernetes.io/tls Secret)" -}}{{- end -}}
{{- $t := dict "cert_file" (printf "%s/otlp/tls.crt" (include "spanmeter.tlsDir" .)) "key_file" (printf "%s/otlp/tls.key" (include "spanmeter.tlsDir" .)) -}}
{{- if $v.tls.otlp.clientAuth -}}{{- $_ := set $t "client_ca_file" (printf "%s/otlp/ca.crt" (include "spanmeter.tlsDir" .)) -}}{{- end -}}
{{- $_ := set $otlp "tls" $t -}}
{{- end -}}
{{- if $v.auth.otlp.secretName -}}
{{- $_ := set $otlp "auth" (dict "bearer_token_file" (printf "%s/otlp/%s" (include "spanmeter.authDir" .) $v.auth.otlp.secretKey)) -}}
{{- end -}}
{{- $_ := set $c "otlp" $otlp -}}
{{- $_ := set $c "http_endpoint" (include "spanmeter.endpoint" (dict "address" $v.listenAddress "port" $v.ports.http)) -}}
{{- if $v.tls.metrics.enabled -}}
{{- if not $v.tls.metrics.secretName -}}{{- fail "tls.metrics.enabled needs tls.metrics.secretName (a kubernetes.io/tls Secret)" -}}{{- end -}}
{{- $t := dict "cert_file" (printf "%s/metrics/tls.crt" (include "spanmeter.tlsDir" .)) "key_file" (printf "%s/metrics/tls.key" (include "spanmeter.tlsDir" .)) -}}
{{- if $v.tls.metrics.clientAuth -}}{{- $_ := set $t "client_ca_file" (printf "%s/metrics/ca.crt" (include "spanmeter.tlsDir" .)) -}}{{- end -}}
{{- $_ := set $c "tls" $t -}}
{{- end -}}
{{- if $v.auth.metrics.secretName -}}
{{- $_ := set $c "http_auth" (dict "bearer_token_file" (printf "%s/metrics/%s" (include "spanmeter.authDir" .) $v.auth.metrics.secretKey)) -}}
{{- end -}}
{{- toYaml $c -}}
{{- end -}}

{{/* A probe from values; HTTPS when the metrics port serves TLS. */}}
{{- define "spanmeter.probe" -}}
{{- $p := deepCopy .probe -}}
{{- if and $p.httpGet .root.Values.tls.metrics.enabled -}}
{{- $_ := set $p.httpGet "scheme" "HTTPS" -}}
{{- end -}}
{{- toYaml $p -}}
{{- end -}}

{{/* The scrape endpoint shared by the ServiceMonitor and the PodMonitor. */}}
{{- define "spanmeter.scrapeEndpoint" -}}
{{- $v := .root.Values -}}
port: http-metrics
path: /metrics
{{- with .monitor.interval }}
interval: {{ . }}
{{- end }}
{{- with .monitor.scrapeTimeout }}
scrapeTimeout: {{ . }}
{{- end }}
{{- if $v.tls.metrics.enabled }}
scheme: https
{{- with .monitor.tlsConfig }}
tlsConfig:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- if $v.auth.metrics.secretName }}
authorization:
  type: Bearer
  credentials:
    name: {{ $v.auth.metrics.secretName }}
    key: {{ $v.auth.metrics.secretKey }}
{{- end }}
{{- with .monitor.relabelings }}
relabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .monitor.metricRelabelings }}
metricRelabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
