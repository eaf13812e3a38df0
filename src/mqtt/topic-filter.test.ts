import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topicFilterMatches } from './topic-filter.js';

test('wildcards match as MQTT defines them', () => {
  assert.ok(topicFilterMatches('device/S1/request', 'device/S1/request'));
  assert.ok(topicFilterMatches('device/+/request', 'device/S1/request'));
  assert.ok(topicFilterMatches('#', 'device/S1/request'));
  assert.ok(topicFilterMatches('device/#', 'device/S1/request'));
  assert.ok(!topicFilterMatches('device/+/report', 'device/S1/request'));
  assert.ok(!topicFilterMatches('device/S1', 'device/S1/request'));
  assert.ok(!topicFilterMatches('device/S1/request/x', 'device/S1/request'));
});
