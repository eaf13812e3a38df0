#!/usr/bin/python3
"""An MQTT client written the way Home Assistant's Bambu integration (ha-bambulab's pybambu) and the
bambulabs_api library write theirs: paho-mqtt 1.x, MQTT 3.1.1 over TLS 1.2 on 8883, user `bblp` with the
access code, the chain checked against a CA file without a host-name check, a short keepalive, subscribe to
`device/<serial>/report` on connect, then ask for the full state (`pushall`) and the versions
(`get_version`) on `device/<serial>/request`, as those integrations do when they start.

Client code of the real kind for end-to-end tests; it imports nothing of Moat's.

Usage: bambu_mqtt.py --host H --port P --password CODE --serial S [--cafile F]
                     [--publish JSON ...] [--until KEY ...] [--timeout S]
Prints every report it receives as one JSON line {"report": <payload>} and exits 0 once a report has carried
each --until key at its top level or inside its first object (e.g. `print`, `info`, `gcode_state`); exits 4 on
timeout, 5 when the connection is refused (with {"refused": rc}).
"""

import argparse
import json
import ssl
import sys
import threading

import paho.mqtt.client as mqtt


def context_for(cafile):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    if cafile:
        context.load_verify_locations(cafile)
        context.verify_mode = ssl.CERT_REQUIRED
    else:
        context.verify_mode = ssl.CERT_NONE
    return context


def keys_of(payload):
    keys = set(payload.keys())
    for value in payload.values():
        if isinstance(value, dict):
            keys.update(value.keys())
    return keys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--host', required=True)
    parser.add_argument('--port', type=int, default=8883)
    parser.add_argument('--password', required=True)
    parser.add_argument('--serial', required=True)
    parser.add_argument('--cafile')
    parser.add_argument('--publish', action='append', default=[], help='JSON payloads sent after the start-up requests')
    parser.add_argument('--until', action='append', default=[], help='stop once reports carried these keys')
    parser.add_argument('--timeout', type=float, default=20)
    options = parser.parse_args()

    report_topic = 'device/%s/report' % options.serial
    request_topic = 'device/%s/request' % options.serial
    wanted = set(options.until)
    seen = set()
    done = threading.Event()
    outcome = {'code': 4}

    client = mqtt.Client(protocol=mqtt.MQTTv311)
    client.username_pw_set('bblp', options.password)
    client.tls_set_context(context_for(options.cafile))

    def on_connect(client, userdata, flags, rc):
        if rc != 0:
            print(json.dumps({'refused': rc}), flush=True)
            outcome['code'] = 5
            done.set()
            return
        client.subscribe(report_topic)
        client.publish(request_topic, json.dumps({'pushing': {'sequence_id': '0', 'command': 'pushall'}}))
        client.publish(request_topic, json.dumps({'info': {'sequence_id': '0', 'command': 'get_version'}}))
        for payload in options.publish:
            client.publish(request_topic, payload, qos=1)

    def on_message(client, userdata, message):
        try:
            payload = json.loads(message.payload)
        except ValueError:
            print(json.dumps({'unparsable': len(message.payload)}), flush=True)
            return
        print(json.dumps({'report': payload}), flush=True)
        seen.update(keys_of(payload))
        if wanted <= seen:
            outcome['code'] = 0
            done.set()

    client.on_connect = on_connect
    client.on_message = on_message
    client.connect(options.host, options.port, keepalive=5)
    client.loop_start()
    done.wait(options.timeout)
    client.disconnect()
    client.loop_stop()
    sys.exit(outcome['code'])


if __name__ == '__main__':
    main()
